"""live engagement: poll states and one answer each, Q&A moderation and votes, the
evaluation form and when evaluations unlock

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_AUTO = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("app_settings", schema=None) as b:
        b.add_column(sa.Column("qa_approval", sa.Boolean(), nullable=True))
        b.add_column(sa.Column("evaluation_unlock_minutes", sa.Integer(), nullable=True))
        b.add_column(sa.Column("evaluation_requires_checkin", sa.Boolean(), nullable=True))
    with op.batch_alter_table("sessions", schema=None) as b:
        b.add_column(sa.Column("qa_approval", sa.Boolean(), nullable=True))
        b.add_column(sa.Column("evaluation_unlock_minutes", sa.Integer(), nullable=True))
        b.add_column(sa.Column("evaluation_requires_checkin", sa.Boolean(), nullable=True))
        b.add_column(sa.Column("evaluation_unlocked_at", sa.DateTime(timezone=True),
                               nullable=True))
    with op.batch_alter_table("polls", schema=None) as b:
        b.add_column(sa.Column("state", sa.String(length=8), nullable=False,
                               server_default="draft"))
        b.add_column(sa.Column("revealed", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
    with op.batch_alter_table("poll_responses", schema=None) as b:
        b.create_unique_constraint("uq_poll_answer_once", ["poll_id", "attendee_id"])
    with op.batch_alter_table("questions", schema=None) as b:
        b.add_column(sa.Column("approved", sa.Boolean(), nullable=False,
                               server_default=sa.true()))
        b.add_column(sa.Column("hidden", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
        b.add_column(sa.Column("starred", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
    op.create_table(
        "question_votes",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("attendee_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attendee_id"], ["attendees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("question_id", "attendee_id"),
    )
    op.create_table(
        "evaluation_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=16), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", _AUTO(), nullable=False),
        sa.Column("text", _AUTO(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("per_presenter", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evaluation_questions", schema=None) as b:
        b.create_index("ix_evaluation_questions_session_id", ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluation_questions", schema=None) as b:
        b.drop_index("ix_evaluation_questions_session_id")
    op.drop_table("evaluation_questions")
    op.drop_table("question_votes")
    with op.batch_alter_table("questions", schema=None) as b:
        b.drop_column("starred")
        b.drop_column("hidden")
        b.drop_column("approved")
    with op.batch_alter_table("poll_responses", schema=None) as b:
        b.drop_constraint("uq_poll_answer_once", type_="unique")
    with op.batch_alter_table("polls", schema=None) as b:
        b.drop_column("revealed")
        b.drop_column("state")
    with op.batch_alter_table("sessions", schema=None) as b:
        b.drop_column("evaluation_unlocked_at")
        b.drop_column("evaluation_requires_checkin")
        b.drop_column("evaluation_unlock_minutes")
        b.drop_column("qa_approval")
    with op.batch_alter_table("app_settings", schema=None) as b:
        b.drop_column("evaluation_requires_checkin")
        b.drop_column("evaluation_unlock_minutes")
        b.drop_column("qa_approval")
