"""Database tables: mailbox watermarks, inbound messages, tickets, the audit trail and the outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from datetime import timezone

from sqlalchemy import Column, DateTime, Index, LargeBinary, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None


def _utc(**kw):
    return Field(sa_column=Column(UTCDateTime(), **kw))


class MailboxState(SQLModel, table=True):
    """How far a folder has been read: UIDs are only comparable within one UIDVALIDITY."""

    folder: str = Field(primary_key=True)
    uidvalidity: int
    last_uid: int = 0


class Ticket(SQLModel, table=True):
    # The staff queue counts by these facets from the index alone.
    __table_args__ = (Index("ix_ticket_facets", "status", "kind", "language", "verification"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    reference: Optional[str] = Field(default=None, unique=True, index=True)
    subject: str = ""
    kind: str = "other"                 # access | correction | deletion | other
    labels: str = "other"               # every right asked for, comma-separated
    confidence: float = 0.0
    needs_triage: bool = False          # classifier unsure: staff decide the kind
    status: str = Field(default="open", index=True)
    requester: str = Field(index=True)  # lower-cased address the request came from
    language: str = "en"
    received_at: datetime = _utc(nullable=False)
    due_at: datetime = _utc(nullable=False, index=True)
    # pending | verified | challenged | unknown | refused; see bot/verify
    verification: str = Field(default="pending", index=True)
    account_id: Optional[str] = Field(default=None, index=True)
    waiting_on: Optional[str] = None    # "requester" while we wait for a code or account details
    verified_address: Optional[str] = None  # where substantive replies may go: the proven address


class InboundMessage(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("folder", "uidvalidity", "uid", name="uq_inbound_mailbox_uid"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    # sha256 over sender, Message-ID and body: a forged Message-ID alone never matches.
    dedup_key: str = Field(unique=True)
    message_id: Optional[str] = Field(default=None, index=True)
    sender: str = ""
    subject: str = ""
    folder: str = ""
    uidvalidity: int = 0
    uid: int = 0
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _utc(nullable=False)
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id", index=True)
    opened_ticket: bool = False
    # Who wrote it, for its ticket (bot/tickets/threads.py): "requester" (feeds drafts and codes),
    # "requester-unproven" (their address, joined without proof), "third-party"; "" when on no ticket.
    party: str = ""
    machine_reason: Optional[str] = None   # why it is machine mail (never answered), if it is
    new_text: str = ""
    attachments: str = "[]"                # JSON list of file names
    language: str = ""
    status: str = Field(default="handled", index=True)   # handled | quarantined | released | dismissed
    quarantine_reason: Optional[str] = None
    flagged: bool = False                  # \Seen (and move) done on the server after commit
    purged_at: Optional[datetime] = _utc(nullable=True)   # raw body removed under the retention rule


class AuditEvent(SQLModel, table=True):
    """Append-only: db.py refuses updates and deletes of these rows; bot/store/audit_chain.py chains them."""

    # A chain's head (its newest row) is found from this index alone.
    __table_args__ = (Index("ix_auditevent_chain", "ticket_id", "id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _utc(nullable=False, index=True)
    actor: str = "bot"                     # bot | staff:<email> | requester
    action: str
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id", index=True)
    inbound_id: Optional[int] = Field(default=None, foreign_key="inboundmessage.id")
    detail: str = "{}"                     # JSON evidence; never a message body
    prev_hash: str = ""                    # row_hash of the row before it in its chain ("" for the first)
    row_hash: str = ""                     # sha256 over prev_hash and this row's content


class OutboxMessage(SQLModel, table=True):
    # Loop protection counts automatic mail queued to an address, and sent to anyone, from these.
    __table_args__ = (Index("ix_outbox_recipient_recent", "to_address", "created_at"),
                      Index("ix_outbox_kind_sent", "kind", "sent_at"))

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str                              # ack | reply | ...
    to_address: str
    subject: str
    message_id: str = Field(unique=True, index=True)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="pending", index=True)   # pending | sending | sent | failed | withheld
    attempts: int = 0
    next_attempt_at: datetime = _utc(nullable=False, index=True)
    last_error: Optional[str] = None
    created_at: datetime = _utc(nullable=False)
    sent_at: Optional[datetime] = _utc(nullable=True)
    claim_token: Optional[str] = None      # which sender's claim holds the row while "sending"
    # Committed just before the SMTP transaction: a crash after it leaves the mail "in doubt".
    send_started_at: Optional[datetime] = _utc(nullable=True)


class SuppressedAddress(SQLModel, table=True):
    """An address that gets no automatic mail, e.g. because earlier automatic mail to it bounced."""

    address: str = Field(primary_key=True)      # lower-cased
    reason: str                                 # bounced | ...
    created_at: datetime = _utc(nullable=False)
    inbound_id: Optional[int] = Field(default=None, foreign_key="inboundmessage.id")


class Challenge(SQLModel, table=True):
    """A one-time code sent to an account's registered address (or phone); only its hash is kept."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    account_id: str
    channel: str                          # email | sms
    sent_to: str                          # the registered address or phone the code went to
    reply_from: str                       # the only address whose reply can carry the code
    code_hash: str
    salt: str
    created_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)
    attempts: int = 0
    status: str = "open"                  # open | used | locked | expired | superseded | withheld


class AccountRecord(SQLModel, table=True):
    """The embedded account source (`supportbot accounts import`); production reads the app's database."""

    account_id: str = Field(primary_key=True)
    nickname: str = Field(default="", index=True)
    phone: str = Field(default="", index=True)      # E.164
    emails: str = ""                                # lower-cased, ";"-separated
    wechat_bound: bool = False
    status: str = "active"


class AccountEmail(SQLModel, table=True):
    """One row per registered address, so lookups by address use an index."""

    email: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True, foreign_key="accountrecord.account_id")


class Draft(SQLModel, table=True):
    """A substantive reply waiting for a person: approved (maybe edited) or rejected, never sent unseen."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str                              # access | correction | deletion | other
    language: str = "en"
    to_address: str = ""
    subject: str = ""
    text: str = ""
    status: str = Field(default="pending", index=True)   # pending | approved | rejected | superseded
    created_at: datetime = _utc(nullable=False)
    decided_at: Optional[datetime] = _utc(nullable=True)
    decided_by: Optional[str] = None
    edited: bool = False
    reject_reason: Optional[str] = None
    outbox_id: Optional[int] = Field(default=None, foreign_key="outboxmessage.id")


class DraftAttachment(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True)
    filename: str
    content_type: str
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ActionRun(SQLModel, table=True):
    """A side effect of an approval (e.g. the deletion itself); the unique key makes it happen once."""

    __table_args__ = (UniqueConstraint("ticket_id", "action", name="uq_action_once"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    action: str                            # deletion.sql | deletion.command
    account_id: str
    status: str = Field(default="pending", index=True)   # pending | running | done | failed
    created_at: datetime = _utc(nullable=False)
    finished_at: Optional[datetime] = _utc(nullable=True)
    result: str = ""


class StaffUser(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    role: str = "staff"                    # staff | manager
    password_hash: str
    active: bool = True
    created_at: datetime = _utc(nullable=False)
    language: Optional[str] = None         # the console's language for them (en | zh); None: [web] language


class LoginFailure(SQLModel, table=True):
    """A console login attempt not (yet) successful, for the login limit (bot/web/login_limit.py).

    Only digests of the login name and client address are kept; rows older than the window go."""

    __table_args__ = (Index("ix_loginfailure_account_at", "account", "at"),
                      Index("ix_loginfailure_client_at", "client", "at"))

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _utc(nullable=False, index=True)
    account: str                           # sha256 of the lower-cased login name
    client: str                            # sha256 of the client's address
    refused: bool = False                  # turned away by the limit: not a failure, marks an audited refusal
