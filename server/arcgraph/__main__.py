from arcgraph.cli import main

raise SystemExit(main())
