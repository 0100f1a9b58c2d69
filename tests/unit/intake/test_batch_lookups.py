"""A fetched batch's lookups (stored already, duplicate candidates, accounts): one query each, and right."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.intake import runner
from bot.intake.fetcher import drain_folder
from bot.store.accounts.embedded import import_accounts
from bot.store.db import transaction
from bot.store.models import AccountRecord, InboundMessage, Ticket
from tests.support.pipeline_flow import Flow, mail, make_app

DELETE = ("Delete my account", "I no longer use ESL. Please delete my account and all my personal data.")
DELETE_AGAIN = ("Delete my account!!", "Why is my account still there? Please erase my account and my data.")
COPY = ("Copy of my data", "Please send me a copy of all the personal information you hold about me.")


@pytest.fixture
def flow(engine, clock, tmp_path):
    return Flow(make_app(engine, clock, tmp_path))


def _add(flow, sender, request, n, **headers) -> None:
    flow.box.add(mail(sender, request[0], request[1], f"<b{n}@x>", **headers))


def _drain(flow):
    return drain_folder(flow.box, flow.app.pipeline, folder="INBOX", batch_size=50)


def _rows(flow, model, order):
    with Session(flow.app.engine) as s:
        return list(s.exec(select(model).order_by(order)))


def test_a_duplicate_of_a_ticket_opened_earlier_in_the_same_batch_is_linked(flow):
    _add(flow, "stranger@example.org", DELETE, 1)
    _add(flow, "other@example.org", COPY, 2)
    _add(flow, "stranger@example.org", DELETE_AGAIN, 3)
    assert _drain(flow).outcomes == {"new-ticket": 2, "follow-up": 1}
    assert [m.ticket_id for m in _rows(flow, InboundMessage, InboundMessage.id)] == [1, 2, 1]
    assert [row.kind for row in flow.outbox()] == ["ack", "ack", "duplicate-notice"]
    assert flow.actions().count("message.duplicate_linked") == 1


def test_a_reply_threads_into_a_ticket_opened_in_the_same_batch(flow):
    _add(flow, "stranger@example.org", DELETE, 1)
    flow.box.add(mail("stranger@example.org", "more", "My nickname is nobody_here", "<b2@x>", In_Reply_To="<b1@x>"))
    assert _drain(flow).outcomes == {"new-ticket": 1, "follow-up": 1}
    assert [m.ticket_id for m in _rows(flow, InboundMessage, InboundMessage.id)] == [1, 1]
    assert "message.threaded" in flow.actions()


def test_the_same_message_twice_in_one_batch_is_stored_once(flow):
    raw = mail("stranger@example.org", *DELETE, "<b1@x>")
    flow.box.add(raw)
    flow.box.add(raw)
    assert _drain(flow).outcomes == {"new-ticket": 1, "duplicate": 1}
    assert len(_rows(flow, InboundMessage, InboundMessage.id)) == 1


def test_accounts_of_a_whole_batch_are_matched_each_to_its_sender(flow):
    _add(flow, "owner@example.org", DELETE, 1)        # A1
    _add(flow, "shared@example.org", DELETE, 2)       # A2 and A3: ambiguous
    _add(flow, "stranger@example.org", DELETE, 3)     # none
    _add(flow, "OWNER@example.org", COPY, 4)          # A1 again, however spelled
    assert _drain(flow).outcomes == {"new-ticket": 4}
    tickets = _rows(flow, Ticket, Ticket.id)
    assert [t.account_id for t in tickets] == ["A1", None, None, "A1"]
    assert [t.verification for t in tickets] == ["challenged", "unknown", "unknown", "challenged"]


def test_a_mail_whose_account_is_added_between_batches_is_matched(flow):
    _add(flow, "newcomer@example.org", DELETE, 1)
    _drain(flow)
    with transaction(flow.app.sessions) as session:
        import_accounts(session, [AccountRecord(account_id="N1", nickname="newbie", phone="",
                                                emails="newcomer@example.org", wechat_bound=False, status="active")])
    _add(flow, "newcomer@example.org", COPY, 2)   # another right: a new ticket, not a duplicate
    assert _drain(flow).outcomes == {"new-ticket": 1}
    assert [t.account_id for t in _rows(flow, Ticket, Ticket.id)] == [None, "N1"]


def test_a_rollback_mid_batch_leaves_no_stale_index(flow, monkeypatch):
    """The first pass saw message 1 stored and its ticket opened; after the rollback neither exists
    until the replay writes them again: a stale index would call message 1 a duplicate of itself."""
    def fails_on_poison(ctx, session, deps):
        if "poison" in ctx.parsed.subject:
            raise ValueError("cannot handle this one")
    monkeypatch.setattr(runner, "STAGES", (*runner.STAGES, fails_on_poison))
    _add(flow, "stranger@example.org", DELETE, 1)
    _add(flow, "other@example.org", ("poison", "Delete my data"), 2)
    _add(flow, "stranger@example.org", DELETE_AGAIN, 3)
    assert _drain(flow).outcomes == {"new-ticket": 1, "quarantined": 1, "follow-up": 1}
    [ticket] = _rows(flow, Ticket, Ticket.id)   # its id: PostgreSQL's sequence does not roll back
    inbound = _rows(flow, InboundMessage, InboundMessage.id)
    assert [(m.sender, m.status, m.ticket_id, m.opened_ticket) for m in inbound] == [
        ("stranger@example.org", "handled", ticket.id, True), ("other@example.org", "quarantined", None, False),
        ("stranger@example.org", "handled", ticket.id, False)]
    assert ticket.requester == "stranger@example.org"


def test_each_lookup_is_one_query_for_the_whole_batch(flow):
    for n in range(6):
        _add(flow, f"user{n}@example.org", DELETE, n)
    statements: list[str] = []
    event.listen(flow.app.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    assert _drain(flow).outcomes == {"new-ticket": 6}
    selects = [" ".join(s.split()) for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in selects if "FROM inboundmessage WHERE inboundmessage.dedup_key" in s]) == 1
    assert len([s for s in selects if s.startswith("SELECT ticket.id, ticket.kind")]) == 1
    assert len([s for s in selects if "JOIN accountemail" in s]) == 1
