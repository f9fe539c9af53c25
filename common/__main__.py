"""Entry point: ``python -m common <step>``."""

import sys

from common.cli import main

sys.exit(main())
