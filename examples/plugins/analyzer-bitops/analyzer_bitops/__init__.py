"""An example out-of-tree analyzer plugin package (see README.md)."""
