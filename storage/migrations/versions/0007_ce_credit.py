"""continuing-education credit: certificates, credit claims, status messages, self-reports

Revision ID: 0007
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

_TEXT = ("certificate_title", "certificate_issuer", "certificate_sponsor_id",
         "certificate_signature")


def upgrade() -> None:
    with op.batch_alter_table("app_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_messages", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("self_report_credit", sa.Boolean(), nullable=True))
        for name in _TEXT:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(),
                                          nullable=True))
        batch_op.add_column(sa.Column("certificate_logo", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_registration", sa.Boolean(), nullable=True))
    op.create_table(
        "credit_claims",
        sa.Column("session_id", sa.String(length=16), nullable=False),
        sa.Column("attendee_id", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attendee_id"], ["attendees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "attendee_id"),
    )
    op.create_table(
        "certificates",
        sa.Column("attendee_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["attendee_id"], ["attendees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attendee_id"),
        sa.UniqueConstraint("code"),
    )


def downgrade() -> None:
    op.drop_table("certificates")
    op.drop_table("credit_claims")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("self_registration")
    with op.batch_alter_table("app_settings", schema=None) as batch_op:
        for name in ("certificate_logo", *reversed(_TEXT), "self_report_credit",
                     "status_messages"):
            batch_op.drop_column(name)
