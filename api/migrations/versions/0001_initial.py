"""Initial schema: api keys, transcripts, turns, flags, verdicts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "transcripts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("encoding", sa.String(40), nullable=False),
        sa.Column("script", sa.String(20), nullable=False),
        sa.Column("uploaded_by", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("masked", sa.Boolean, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("scorecard", sa.JSON, nullable=False),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("transcript_id", sa.String(36), sa.ForeignKey("transcripts.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("speaker", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("start_time", sa.Float, nullable=True),
        sa.Column("end_time", sa.Float, nullable=True),
        sa.Column("line", sa.Integer, nullable=True),
        sa.Column("sentiment", sa.JSON, nullable=True),
        sa.UniqueConstraint("transcript_id", "index"),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("turn_id", sa.Integer, sa.ForeignKey("turns.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("span_start", sa.Integer, nullable=False),
        sa.Column("span_end", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("principle", sa.Text, nullable=False),
        sa.Column("suggestions", sa.JSON, nullable=False),
        sa.Column("rewrite", sa.Text, nullable=False),
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flag_id", sa.String(36), sa.ForeignKey("flags.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("flag_id", "key_id"),
    )


def downgrade() -> None:
    for table in ("verdicts", "flags", "turns", "transcripts", "api_keys"):
        op.drop_table(table)
