"""``python -m reconstruction``: the command line."""

import sys

from reconstruction.cli import main

sys.exit(main())
