from arcgraph.worker.main import main

raise SystemExit(main())
