"""offline doors: seat leases, door conflicts, a session's leasing switch

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leasing_off", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        "seat_leases",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=16), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("seat_leases", schema=None) as batch_op:
        batch_op.create_index("ix_seat_leases_session", ["session_id", "expires_at"],
                              unique=False)
    op.create_table(
        "door_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=16), nullable=False),
        sa.Column("attendee_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("door_decided", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("hub_result", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("presented", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("lease_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=300),
                  nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attendee_id"], ["attendees.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("door_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_door_conflicts_session", ["session_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("door_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_door_conflicts_session")
    op.drop_table("door_conflicts")
    with op.batch_alter_table("seat_leases", schema=None) as batch_op:
        batch_op.drop_index("ix_seat_leases_session")
    op.drop_table("seat_leases")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("leasing_off")
