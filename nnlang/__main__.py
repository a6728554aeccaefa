"""``python -m nnlang`` runs the command line."""

import sys

try:
    from nnlang.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command is still loading
    sys.stderr.write("interrupted\n")
    sys.exit(130)

sys.exit(main())
