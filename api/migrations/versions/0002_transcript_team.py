"""Transcripts carry the agent's team (set at upload; used by the web app's filters).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transcripts", sa.Column("team", sa.String(100), nullable=True))
    op.create_index("ix_transcripts_team", "transcripts", ["team"])


def downgrade() -> None:
    op.drop_index("ix_transcripts_team", table_name="transcripts")
    op.drop_column("transcripts", "team")
