"""The everyday queue is every ticket still on the clock: open, reply on its way, reply undelivered."""
from __future__ import annotations

import html as entities
import re
from datetime import timedelta

from sqlmodel import Session, select

from bot.store.models import Ticket
from bot.web.queries import QueueFilter, facet_counts
from bot.web.ticket_moves import next_in_queue
from tests.unit.web.test_web_helpers import anon, bot, client, fast_hashes, post  # noqa: F401
from tests.unit.web.test_web_queue import add_tickets, rows

STATUS_CHIP = re.compile(r'<a class="chip ?(?:on)?" href="([^"]*)"[^>]*>([^<]+)<b>([\d,]+)</b></a>')


def tickets_in_every_status(bot, clock) -> None:
    day = timedelta(days=1)
    add_tickets(bot, clock, {"due_at": clock.now() + 5 * day},                                  # 1 open
                {"due_at": clock.now() + 2 * day, "status": "replying", "kind": "deletion"},    # 2 reply on its way
                {"due_at": clock.now() - day, "status": "reply-undelivered"},                   # 3 refused for good
                {"due_at": clock.now() - 3 * day, "status": "answered"},                        # 4 done
                {"due_at": clock.now() - 4 * day, "status": "closed", "kind": "deletion"},      # 5 done
                {"due_at": clock.now() - 2 * day, "kind": "deletion"})                          # 6 open, overdue


def refs(page: str) -> set[str]:
    return {ref for _, _, ref in rows(page)}


def row_of(page: str, reference: str) -> str:
    return next(row for row in page.split("<tr>") if f"<b>{reference}</b>" in row)


def test_the_everyday_queue_is_every_ticket_still_on_the_clock(client, bot, clock):
    tickets_in_every_status(bot, clock)
    page = client.get("/").text
    assert rows(page) == [("due-over", "2 days overdue", "ESL-000006"), ("due-over", "1 day overdue", "ESL-000003"),
                          ("due-soon", "2 days left", "ESL-000002"), ("due-ok", "5 days left", "ESL-000001")]
    assert "4 tickets" in page
    assert refs(client.get("/?status=open").text) == {"ESL-000001", "ESL-000006"}   # exactly status open
    assert refs(client.get("/?status=reply-undelivered").text) == {"ESL-000003"}
    assert len(refs(client.get("/?status=all").text)) == 6


def test_rows_still_on_the_clock_show_days_left_and_a_status_other_than_open(client, bot, clock):
    tickets_in_every_status(bot, clock)
    page = client.get("/").text
    undelivered = row_of(page, "ESL-000003")
    assert "1 day overdue" in undelivered and '<span class="badge reply-undelivered">reply undelivered</span>' in undelivered
    assert "2 days left" in row_of(page, "ESL-000002") and "reply on its way" in row_of(page, "ESL-000002")
    assert "badge reply" not in row_of(page, "ESL-000001")        # open: the days say it all
    ticket = client.get("/tickets/ESL-000003").text
    assert "1 day overdue" in ticket and "reply undelivered" in ticket


def test_each_status_chip_counts_what_it_shows(client, bot, clock):
    tickets_in_every_status(bot, clock)
    with bot.sessions() as session:
        facets, total = facet_counts(session, QueueFilter())
    assert total == 4
    assert facets["status"] == [("open", 2), ("answered", 1), ("closed", 1), ("reply-undelivered", 1), ("replying", 1)]
    assert dict(facets["kind"]) == {"access": 2, "deletion": 2}     # the tickets on the clock only
    for start in ("/", "/?kind=deletion", "/?status=open", "/?status=all&kind=access"):
        chips = STATUS_CHIP.findall(client.get(start).text.split("Status</span>")[1].split('<span class="label">')[0])
        assert chips[0][1] == "on the clock"
        for href, _, count in chips:
            assert len(refs(client.get(entities.unescape(href)).text)) == int(count), (start, href)


def test_urls_without_a_status_are_the_everyday_queue_and_status_open_stays_open(client, bot, clock):
    tickets_in_every_status(bot, clock)
    assert QueueFilter().link() == "/" and QueueFilter(kind="access").link() == "/?kind=access"
    assert QueueFilter(status="open").link() == "/?status=open" and QueueFilter(status=None).link() == "/?status=all"
    page = client.get("/?kind=deletion").text
    assert 'href="/"' in page                                       # "all" kinds: back to the everyday queue
    assert 'href="/?status=open&amp;kind=deletion"' in page and 'href="/?status=all&amp;kind=deletion"' in page
    assert 'name="status"' not in page                              # a search from here looks through every status
    assert "Filters in use" not in client.get("/").text
    chosen = client.get("/?status=open").text
    assert 'name="status" value="open"' in chosen and "Filters in use" in chosen


def test_overdue_is_every_overdue_ticket_still_on_the_clock(client, bot, clock):
    tickets_in_every_status(bot, clock)
    assert refs(client.get("/?only=overdue").text) == {"ESL-000003", "ESL-000006"}
    assert refs(client.get("/?only=overdue&status=all").text) == {"ESL-000003", "ESL-000006"}


def test_moving_on_goes_to_the_next_ticket_still_on_the_clock(bot, clock):
    tickets_in_every_status(bot, clock)
    with Session(bot.engine) as session:
        ticket = {t.reference: t for t in session.exec(select(Ticket))}
        assert next_in_queue(session, ticket["ESL-000006"]) == "ESL-000003"   # reply undelivered: staff act on it
        assert next_in_queue(session, ticket["ESL-000003"]) == "ESL-000002"
        assert next_in_queue(session, ticket["ESL-000001"]) == "ESL-000006"   # at the end: the first again


def test_the_everyday_queue_has_a_name_in_chinese(client, bot, clock):
    tickets_in_every_status(bot, clock)
    post(client, "/me/language", language="zh")
    page = client.get("/").text
    assert ">未完结<b>4</b>" in page and "回复未送达" in page and "回复发送中" in page
