"""outbox send claims, suppressed addresses, retention

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import bot.store.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('suppressedaddress',
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['inbound_id'], ['inboundmessage.id'], ),
    sa.PrimaryKeyConstraint('address')
    )
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', bot.store.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('send_started_at', bot.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_recipient_recent', ['to_address', 'created_at'], unique=False)
        batch_op.create_index('ix_outbox_kind_sent', ['kind', 'sent_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_kind_sent')
        batch_op.drop_index('ix_outbox_recipient_recent')
        batch_op.drop_column('send_started_at')
        batch_op.drop_column('claim_token')

    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_column('purged_at')

    op.drop_table('suppressedaddress')
