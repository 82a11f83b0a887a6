from git_elite.cli.main import main

raise SystemExit(main())
