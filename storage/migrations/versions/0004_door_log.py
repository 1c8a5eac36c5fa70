"""door log: every door action, accepted or refused (the scans report)

Revision ID: 0004
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "door_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attendee_id", sa.Integer(), nullable=True),
        sa.Column("presented_as", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("presented", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attendee_id"], ["attendees.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("door_log", schema=None) as batch_op:
        batch_op.create_index("ix_door_log_session_id", ["session_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("door_log", schema=None) as batch_op:
        batch_op.drop_index("ix_door_log_session_id")
    op.drop_table("door_log")
