"""`python -m agent` runs `logship-agent`."""

import sys

from agent.cli import main

sys.exit(main())
