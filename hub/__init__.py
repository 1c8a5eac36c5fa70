"""Rollcall: a self-hosted, real-time attendance hub for conference sessions."""

__version__ = "0.1.0"
