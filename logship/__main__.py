import sys

from logship.cli import main

sys.exit(main())
