"""``python -m analysis.verify``: see cli.py."""

import sys

from .cli import main

sys.exit(main())
