"""The console for staff handling many requests: search, show-only filters, assignees, moving on, readable details."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.store.db import transaction
from bot.store.models import Ticket
from bot.store.sla_models import TicketSla
from tests.unit.web.test_web_helpers import (MANAGER, STAFF, anon, bot, challenged_deletion, client, events,  # noqa: F401
                                         fast_hashes, flow, pending_draft, post, verified_access)
from tests.unit.web.test_web_ops import failed_mail, send_all
from tests.unit.web.test_web_queue import add_tickets, rows
from tests.support.pipeline_flow import mail
from tests.support.refs import plain


def refs(html: str) -> set[str]:
    return {plain(ref) for _, _, ref in rows(html)}


def test_search_finds_part_of_any_field_in_every_status(client, bot, clock, flow):
    add_tickets(bot, clock, {"subject": "Delete my account", "requester": "alice.wong@example.org",
                             "status": "answered"},
                {"subject": "查询", "requester": "x@example.cn", "account_id": "A2"},
                *[{} for _ in range(11)], {"subject": "fourteen"})
    flow.send(mail("lilei@example.cn", "数据", "你好，我是李雷，请给我我的数据。", "<l@x>"))   # ESL-000015
    assert refs(client.get("/?q=alice").text) == {"ESL-000001"}          # part of an address, an answered ticket
    assert refs(client.get("/?q=delete").text) == {"ESL-000001"}         # part of a subject, any case
    assert refs(client.get("/?q=000014").text) == {"ESL-000014"}         # part of a reference
    assert refs(client.get("/?q=bobby").text) == {"ESL-000002"}          # the matched account's nickname
    assert refs(client.get("/?q=Shared@Example.org").text) == {"ESL-000002"}   # its whole registered address
    assert refs(client.get("/?q=alice.wong@example.org").text) == {"ESL-000001"}   # a whole address, exactly
    assert refs(client.get("/?q=139 0013 9000").text) == {"ESL-000002"}  # the account's phone, as typed
    assert refs(client.get("/?q=李雷").text) == {"ESL-000015"}           # the name they signed with
    assert refs(client.get("/?q=lilei").text) == {"ESL-000015"}
    assert refs(client.get("/?q=50%25").text) == set()                  # % is a character, not a wildcard
    page = client.get("/?q=alice&kind=access").text
    assert refs(page) == {"ESL-000001"} and "Filters in use" in page and "“alice” ×" in page
    assert 'name="kind" value="access"' in page                          # the search keeps the other filters
    assert refs(client.get("/?q=alice&status=open").text) == set()       # a chosen status still applies


def test_show_only_filters_combine(client, bot, clock, flow):
    verified_access(flow)                                                # ESL-000001: draft ready
    challenged_deletion(flow, 2)                                         # ESL-000002: waiting on the code
    day = timedelta(days=1)
    add_tickets_after(bot, clock, {"due_at": clock.now() - 2 * day}, {"due_at": clock.now() - 2 * day})
    with transaction(bot.sessions) as s:
        s.add(TicketSla(ticket_id=3, assignee=STAFF))
        s.add(TicketSla(ticket_id=1, assignee=STAFF))
    assert refs(client.get("/?only=draft").text) == {"ESL-000001"}
    assert refs(client.get("/?only=waiting").text) == {"ESL-000002"}
    assert refs(client.get("/?only=overdue").text) == {"ESL-000003", "ESL-000004"}
    assert refs(client.get("/?only=mine").text) == {"ESL-000001", "ESL-000003"}
    page = client.get("/?only=mine&only=overdue").text
    assert refs(page) == {"ESL-000003"} and page.count('class="chip on" href') >= 2
    assert STAFF in page                                                 # the assignee column


def add_tickets_after(bot, clock, *specs):
    with transaction(bot.sessions) as s:
        first = len(s.exec(select(Ticket.id)).all()) + 1
        for n, spec in enumerate(specs, first):
            s.add(Ticket(reference=f"ESL-{n:06d}", subject=f"r{n}", requester=f"u{n}@example.org",
                         received_at=clock.now() - timedelta(days=20), **spec))


def test_assign_only_to_staff_accounts_audited(client, bot, flow):
    verified_access(flow)
    page = client.get("/tickets/ESL-000001").text
    assert f'<option value="{MANAGER}"' in page and f'<option value="{STAFF}"' in page
    post(client, "/tickets/ESL-000001/assign", assignee="stranger@example.org")
    assert "no active staff account" in client.get("/tickets/ESL-000001").text
    post(client, "/tickets/ESL-000001/assign", assignee=MANAGER)
    with Session(bot.engine) as s:
        assert s.get(TicketSla, 1).assignee == MANAGER
    assert [json.loads(e.detail)["assignee"] for e in events(bot, "ticket.assigned")] == [MANAGER]
    assert events(bot, "ticket.assigned")[0].actor == f"staff:{STAFF}"
    post(client, "/tickets/ESL-000001/assign", assignee="")
    with Session(bot.engine) as s:
        assert s.get(TicketSla, 1).assignee is None


@pytest.mark.parametrize("decision,form", [("approve", {}), ("reject", {"reason": "not this way"})])
def test_approve_and_reject_go_on_to_the_next_ticket(client, bot, flow, clock, decision, form):
    verified_access(flow)
    add_tickets_after(bot, clock, {"due_at": clock.now() + timedelta(days=30)},   # after it in the queue
                      {"due_at": clock.now() - timedelta(days=30), "status": "answered"})   # not in the queue
    draft = pending_draft(bot, 1)
    response = post(client, f"/drafts/{draft.id}/{decision}", **({"text": draft.text} | form))
    assert response.headers["location"] == "/tickets/ESL-000002"
    assert "ESL-000001-" in client.get("/tickets/ESL-000002").text      # what was done, shown on the next one


def test_details_read_as_words_local_times_and_short_ids(client, bot, flow):
    verified_access(flow)
    page = client.get("/tickets/ESL-000001").text
    match = page.split('id="match">')[1].split("</dd>")[0]
    assert "False" not in match and "True" not in match and ("yes" in match or "no" in match)
    audit = page.split('id="audit"')[1]
    assert "+00:00" not in audit and not any(f".{n}" in audit for n in ("000000", "123456"))
    assert 'class="mid" title="&lt;' in audit                           # Message-IDs collapsed, whole on hover
    assert "access to data" in page


def test_account_look_up_by_phone_nickname_or_address(client, flow):
    challenged_deletion(flow)
    for what in ("13900139000", "bobby", "shared@example.org"):
        page = client.get("/tickets/ESL-000001", params={"find": what}).text
        assert '<option value="A2">' in page, what
        assert "13900139000" not in page.split('class="found')[1].split("</ul>")[0]   # masked
    assert "No account matches" in client.get("/tickets/ESL-000001?find=nobody-at-all").text


def test_retry_all_requeues_every_failed_mail(bot, flow, client, smtp, clock):
    failed_mail(bot, flow, smtp)
    flow.send(mail("x@example.org", "Delete", "Please delete my account.", "<f2@x>"))
    smtp.fail("451 4.3.0 try later")
    send_all(bot, smtp, max_attempts=1)
    smtp.accept_all()
    assert {o.status for o in flow.outbox()} == {"failed"}
    assert 'action="/mail/retry-all"' in client.get("/mail/failed").text
    post(client, "/mail/retry-all")
    assert {o.status for o in flow.outbox()} == {"pending"}
    assert len(events(bot, "mail.retry")) == len(flow.outbox()) >= 2
    assert "back in the queue" in client.get("/mail/failed").text
