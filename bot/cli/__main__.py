"""`python -m bot.cli`: the same as the `kgbot` script, for a source tree that is not installed."""

import sys

from bot.cli import main

sys.exit(main())
