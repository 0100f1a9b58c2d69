"""audit trail hash chain (prev_hash and row_hash on every audit row, existing rows hashed in order);
processors' deletion notices and their confirmations (processornotice)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.models
from bot.store.audit_chain import row_hash

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('row_hash', sa.String(), nullable=False, server_default=''))
        batch_op.create_index('ix_auditevent_chain', ['ticket_id', 'id'], unique=False)
    _hash_existing_rows(op.get_bind())
    _processor_notices()


def _processor_notices() -> None:
    text, when = sqlmodel.sql.sqltypes.AutoString(), bot.store.models.UTCDateTime(timezone=True)
    op.create_table('processornotice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('party', text, nullable=False),
    sa.Column('email', text, nullable=False),
    sa.Column('token', text, nullable=False),
    sa.Column('message_id', text, nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', when, nullable=False),
    sa.Column('state', text, nullable=False),
    sa.Column('answer_inbound_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', when, nullable=True),
    sa.Column('answer_text', text, nullable=False),
    sa.Column('checked_by', text, nullable=True),
    sa.Column('checked_at', when, nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', when, nullable=True),
    sa.Column('escalated_at', when, nullable=True),
    sa.ForeignKeyConstraint(['answer_inbound_id'], ['inboundmessage.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outboxmessage.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('processornotice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processornotice_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_processornotice_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_processornotice_ticket_id'), ['ticket_id'], unique=False)


def _hash_existing_rows(conn) -> None:
    """Once, in id order; the append-only triggers are dropped for it (init_db puts them back)."""
    if conn.dialect.name == 'postgresql':
        conn.execute(sa.text('DROP TRIGGER IF EXISTS auditevent_append_only ON auditevent'))
    else:
        conn.execute(sa.text('DROP TRIGGER IF EXISTS auditevent_no_update'))
    heads: dict[int, str] = {}
    rows = conn.exec_driver_sql('SELECT id, ticket_id, at, actor, action, inbound_id, detail '
                                'FROM auditevent ORDER BY id').all()
    update = sa.text('UPDATE auditevent SET prev_hash = :prev, row_hash = :hash WHERE id = :id')
    changes = []
    for row_id, ticket_id, at, actor, action, inbound_id, detail in rows:
        prev = heads.get(ticket_id or 0, '')
        heads[ticket_id or 0] = digest = row_hash(prev, at, actor, action, ticket_id, inbound_id, detail)
        changes.append({'prev': prev, 'hash': digest, 'id': row_id})
        if len(changes) >= _BATCH:
            conn.execute(update, changes)
            changes = []
    if changes:
        conn.execute(update, changes)


def downgrade() -> None:
    op.drop_table('processornotice')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_chain')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
