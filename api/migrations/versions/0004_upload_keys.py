"""Idempotency keys of uploads: (uploading key, Idempotency-Key) -> the transcript stored.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("transcript_id", sa.String(36), sa.ForeignKey("transcripts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key_id", "idempotency_key"),
    )
    op.create_index("ix_upload_keys_transcript_id", "upload_keys", ["transcript_id"])


def downgrade() -> None:
    op.drop_index("ix_upload_keys_transcript_id", table_name="upload_keys")
    op.drop_table("upload_keys")
