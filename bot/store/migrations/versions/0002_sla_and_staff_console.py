"""SLA clock, reminders and digest; staff console sessions; queue indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import bot.store.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digestsent',
    sa.Column('slot', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipients', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('slot')
    )
    op.create_table('websecret',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('remindersent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('due_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipients', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'threshold', 'due_at', name='uq_reminder_once')
    )
    with op.batch_alter_table('remindersent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remindersent_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('slaextension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('old_due_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('new_due_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('slaextension', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slaextension_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('slapause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('started_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', bot.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('slapause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slapause_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('staffsession',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('staffsession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staffsession_user_id'), ['user_id'], unique=False)

    op.create_table('ticketsla',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('clock_started_at', bot.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', bot.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    with op.batch_alter_table('ticketsla', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticketsla_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticketsla_completed_at'), ['completed_at'], unique=False)

    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inboundmessage_status'), ['status'], unique=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_facets', ['status', 'kind', 'language', 'verification'], unique=False)
        batch_op.create_index('ix_ticket_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_ticket_status_due_at', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_status_due_at')
        batch_op.drop_index('ix_ticket_received_at')
        batch_op.drop_index('ix_ticket_facets')

    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboundmessage_status'))

    with op.batch_alter_table('ticketsla', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticketsla_completed_at'))
        batch_op.drop_index(batch_op.f('ix_ticketsla_assignee'))

    op.drop_table('ticketsla')
    with op.batch_alter_table('staffsession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staffsession_user_id'))

    op.drop_table('staffsession')
    with op.batch_alter_table('slapause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slapause_ticket_id'))

    op.drop_table('slapause')
    with op.batch_alter_table('slaextension', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slaextension_ticket_id'))

    op.drop_table('slaextension')
    with op.batch_alter_table('remindersent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remindersent_ticket_id'))

    op.drop_table('remindersent')
    op.drop_table('websecret')
    op.drop_table('digestsent')
