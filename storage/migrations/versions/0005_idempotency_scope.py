"""idempotency answers: whose record they answered and the request's fingerprint

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keys are now scoped to the caller ("{session}/{action}/{caller}/{key}"): the answers
    # stored under the old form can never be asked for again, so they go.
    op.execute("DELETE FROM idempotency_keys")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attendee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.create_foreign_key("fk_idempotency_keys_attendee_id", "attendees",
                                    ["attendee_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index("ix_idempotency_keys_attendee", ["session_id", "attendee_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_attendee")
        batch_op.drop_constraint("fk_idempotency_keys_attendee_id", type_="foreignkey")
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("attendee_id")
