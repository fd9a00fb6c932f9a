"""``python -m lc_otel``: the ``lc-otel`` command."""

import sys

from lc_otel.cli import main

if __name__ == "__main__":
    sys.exit(main())
