"""Tools that drive real node processes from outside: the local federation launcher and the demo."""
