"""`python -m kbench_tui` is the same as the `kbench-tui` command."""

import sys

from kbench_tui.cli import main

sys.exit(main())
