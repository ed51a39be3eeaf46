"""Database engine, migrations (Alembic, run programmatically) and sessions.

The same code runs on SQLite (the default file) and PostgreSQL (``postgresql+psycopg://``).
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x68756173  # "huas": one migrating worker at a time


# Enough pooled connections for every thread of the server's threadpool (40), so that busy
# moments do not open and close overflow connections.
POOL = {"pool_size": 20, "max_overflow": 30}


def create_db_engine(url: str, **options) -> Engine:
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).update(check_same_thread=False, timeout=30)
        engine = create_engine(url, **{**POOL, **options})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **{**POOL, **options})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """``alembic upgrade head`` on ``engine``; several workers starting at once take turns."""
    config = alembic_config()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with engine.connect() as connection:  # kept in the file: readers do not wait for the writer
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """An engine with the schema at the newest migration, and its session factory."""
    engine = create_db_engine(url)
    migrate(engine)
    return engine, session_factory(engine)
