"""Command-line interface of autotune (``autotune --help``)."""
