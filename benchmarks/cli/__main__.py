"""``python -m benchmarks.cli``: the ``sgd`` command line."""

import sys

from benchmarks.cli import main

sys.exit(main())
