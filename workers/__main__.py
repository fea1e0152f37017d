"""`python -m workers`: same as `logship-worker`."""

from workers.cli import main

raise SystemExit(main())
