"""The supervisor's review workflow (issue #15): call status and metadata columns for finding
calls, verdict reasons, flags added by a reviewer, agent keys linked to an agent, disputes and
an audit log of every review action.

- transcripts.status: ``new`` → ``reviewed`` or ``disputed``; reviewed_by/reviewed_at say who.
- transcripts.content_sha256: the sha256 of the uploaded file's bytes, to detect duplicates.
- transcripts.started_at: the call's start (from the transcript or the upload's metadata).
- transcripts.agent_key: the one grouping key of the call's agent (``id:1234`` or ``name:小林``),
  by the rule in ``analyzer.callmeta``; the dashboard, filters and agent view group by it.
- verdicts.reason: a reason code from a fixed list next to the free-text note.
- flags.added_by: the key that added a missed trigger by hand (its source is ``reviewer``).
- api_keys.agent_id: an ``agent`` key's own agent_key, for the agent's view of their calls.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcripts") as t:
        t.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="new"))
        t.add_column(sa.Column("reviewed_by", sa.Integer, sa.ForeignKey("api_keys.id", name="fk_transcripts_reviewed_by"), nullable=True))
        t.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("content_sha256", sa.String(64), nullable=True))
        t.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("agent_key", sa.String(200), nullable=True))
    op.create_index("ix_transcripts_status", "transcripts", ["status"])
    op.create_index("ix_transcripts_content_sha256", "transcripts", ["content_sha256"])
    op.create_index("ix_transcripts_started_at", "transcripts", ["started_at"])
    op.create_index("ix_transcripts_agent_key", "transcripts", ["agent_key"])
    with op.batch_alter_table("verdicts") as t:
        t.add_column(sa.Column("reason", sa.String(40), nullable=True))
    with op.batch_alter_table("flags") as t:
        t.add_column(sa.Column("added_by", sa.Integer, sa.ForeignKey("api_keys.id", name="fk_flags_added_by"), nullable=True))
    with op.batch_alter_table("api_keys") as t:
        t.add_column(sa.Column("agent_id", sa.String(200), nullable=True))
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flag_id", sa.String(36), sa.ForeignKey("flags.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.Column("decided_by", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text, nullable=True),
    )
    op.create_index("ix_disputes_flag_id", "disputes", ["flag_id"])
    op.create_index("ix_disputes_status", "disputes", ["status"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("detail", sa.JSON, nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_target", "audit_log", ["target"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_disputes_status", table_name="disputes")
    op.drop_index("ix_disputes_flag_id", table_name="disputes")
    op.drop_table("disputes")
    with op.batch_alter_table("api_keys") as t:
        t.drop_column("agent_id")
    with op.batch_alter_table("flags") as t:
        t.drop_column("added_by")
    with op.batch_alter_table("verdicts") as t:
        t.drop_column("reason")
    for name in ("agent_key", "started_at", "content_sha256", "status"):
        op.drop_index(f"ix_transcripts_{name}", table_name="transcripts")
    with op.batch_alter_table("transcripts") as t:
        for name in ("agent_key", "started_at", "content_sha256", "reviewed_at", "reviewed_by", "status"):
            t.drop_column(name)
