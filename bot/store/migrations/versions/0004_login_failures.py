"""console login limit: failed logins per account name and client address

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import bot.store.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('loginfailure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loginfailure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loginfailure_at'), ['at'], unique=False)
        batch_op.create_index('ix_loginfailure_account_at', ['account', 'at'], unique=False)
        batch_op.create_index('ix_loginfailure_client_at', ['client', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('loginfailure', schema=None) as batch_op:
        batch_op.drop_index('ix_loginfailure_client_at')
        batch_op.drop_index('ix_loginfailure_account_at')
        batch_op.drop_index(batch_op.f('ix_loginfailure_at'))

    op.drop_table('loginfailure')
