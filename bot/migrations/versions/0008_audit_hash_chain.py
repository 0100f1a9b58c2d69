"""audit trail hash chain: prev_hash and row_hash on every audit row, existing rows hashed in order

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

from bot.audit_chain import row_hash


revision = '0008'
down_revision = '0004'
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('row_hash', sa.String(), nullable=False, server_default=''))
        batch_op.create_index('ix_auditevent_chain', ['ticket_id', 'id'], unique=False)
    _hash_existing_rows(op.get_bind())


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
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_chain')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
