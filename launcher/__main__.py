"""`python -m launcher`."""

from launcher.cli import main

raise SystemExit(main())
