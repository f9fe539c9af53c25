"""Entry point: ``python -m common <step>``."""

import sys

from .cli import main

sys.exit(main())
