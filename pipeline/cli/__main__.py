"""`python -m pipeline.cli` runs the `lcd` command."""

import sys

from pipeline.cli.app import main

sys.exit(main())
