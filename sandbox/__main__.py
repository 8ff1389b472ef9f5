"""python -m sandbox -> the messages-sandbox command."""

import sys

from .cli import main

sys.exit(main())
