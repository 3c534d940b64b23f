from arcgraph.training.cli import main

raise SystemExit(main())
