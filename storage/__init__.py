"""Persistence: SQLModel tables, engines, migrations and queries."""
