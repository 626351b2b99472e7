"""``python -m pipeline``: the ``imdb-pipeline`` command line, with the same exit codes."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
