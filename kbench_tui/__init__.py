"""kbench-tui: a terminal dashboard for Kaggle Benchmarks."""

__version__ = "0.1.0"
