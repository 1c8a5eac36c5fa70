"""The migrations build exactly the schema ``storage/tables.py`` declares, on SQLite and
PostgreSQL (every table, column, index and key the hub's queries rely on)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.config import DatabaseURL
from storage.engine import make_sync_engine
from storage.tables import T_DOOR_LOG, metadata


def test_the_migrated_schema_is_the_declared_one(db: DatabaseURL) -> None:
    engine = make_sync_engine(db)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            tables = set(engine.dialect.get_table_names(conn))
    finally:
        engine.dispose()
    assert diff == []
    assert T_DOOR_LOG.name in tables
