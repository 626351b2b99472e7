"""Root pytest configuration."""

from pipeline.gc_at_exit import freeze_gc_at_exit


def pytest_configure(config):
    # A test run that used Beam would otherwise end with SIGSEGV at interpreter
    # exit, turning a passing run into a failed one; see pipeline/gc_at_exit.py.
    freeze_gc_at_exit()
