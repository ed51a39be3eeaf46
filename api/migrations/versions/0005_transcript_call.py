"""Transcripts keep the analysis's call metadata (agent name and employee id, channel, start),
computed once by analyzer.pipeline like the summary and the scorecard; older rows have none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transcripts", sa.Column("call", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("transcripts", "call")
