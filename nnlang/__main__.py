"""``python -m nnlang`` runs the command line."""

import sys

from nnlang.cli import main

sys.exit(main())
