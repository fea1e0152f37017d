"""`python -m collector` runs `logship-collector`."""

import sys

from collector.cli import main

sys.exit(main())
