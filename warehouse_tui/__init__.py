"""warehouse-tui: the floor app of a warehouse."""

__version__ = "0.1.0"
