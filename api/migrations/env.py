"""Alembic environment: run by ``api.db.migrate`` with an open connection (no alembic.ini).

To write a new revision, see ``api/migrations/README``.
"""
from alembic import context

from api.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through api.db.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs go through a copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
