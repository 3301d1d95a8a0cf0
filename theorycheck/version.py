"""The toolkit's version (one place; recorded in every result)."""

__version__ = "0.2.0"
