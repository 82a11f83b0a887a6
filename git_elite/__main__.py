from git_elite.cli import main

raise SystemExit(main())
