"""Coop for Python: content review and enforcement for trust & safety teams."""

__version__ = "0.1.0"
