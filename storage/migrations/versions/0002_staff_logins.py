"""staff sign-ins that can be revoked

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("login_generation", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "staff_logins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("kiosk_session", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["kiosk_session"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_logins_staff_id"), ["staff_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_logins_staff_id"))
    op.drop_table("staff_logins")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("login_generation")
