"""who wrote each message of a ticket: the requester, the requester unproven, or a third party

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
    # Mail already on a ticket keeps counting when it came from the requester or the proven address.
    op.execute("UPDATE inboundmessage SET party = CASE WHEN EXISTS (SELECT 1 FROM ticket t WHERE "
               "t.id = inboundmessage.ticket_id AND (t.requester = inboundmessage.sender OR "
               "t.verified_address = inboundmessage.sender)) THEN 'requester' ELSE 'third-party' END "
               "WHERE ticket_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_column('party')
