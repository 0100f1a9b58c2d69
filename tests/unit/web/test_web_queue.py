"""The queue (most urgent first, days left coloured, filters with counts, pages) and the quarantine."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.store.db import transaction
from bot.store.models import InboundMessage, Ticket
from bot.web.queries import QueueFilter, facet_counts
from tests.unit.web.test_web_helpers import anon, bot, client, fast_hashes  # noqa: F401

# (colour class, days text or status, reference) of each row of the queue
ROW = re.compile(r'<td><span class="badge ?(due-\w+)?"[^>]*>([^<]+)</span>.*?<b>(ESL-\d+(?:-[0-9A-Z]{3})?)</b>', re.S)


def add_tickets(bot, clock, *specs: dict) -> None:
    """Tickets straight into the table: each spec overrides the defaults (due in 10 days, open, en...)."""
    with transaction(bot.sessions) as session:
        for n, spec in enumerate(specs, 1):
            fields = dict(subject=f"request {n}", kind="access", status="open", requester=f"user{n}@example.org",
                          language="en", verification="pending", received_at=clock.now() - timedelta(days=1),
                          due_at=clock.now() + timedelta(days=10)) | spec
            session.add(Ticket(reference=f"ESL-{n:06d}", **fields))


def rows(html: str) -> list[tuple[str, str, str]]:
    return ROW.findall(html)


def test_open_tickets_most_urgent_first_with_days_left_coloured(client, bot, clock):
    day = timedelta(days=1)
    add_tickets(bot, clock, {"due_at": clock.now() + 10 * day}, {"due_at": clock.now() - day},
                {"due_at": clock.now() + 3 * day}, {"due_at": clock.now() + 4 * day},
                {"due_at": clock.now() + 2 * day}, {"due_at": clock.now() - 5 * day, "status": "answered"})
    assert rows(client.get("/").text) == [
        ("due-over", "1 day overdue", "ESL-000002"), ("due-soon", "2 days left", "ESL-000005"),
        ("due-soon", "3 days left", "ESL-000003"), ("due-ok", "4 days left", "ESL-000004"),
        ("due-ok", "10 days left", "ESL-000001")]   # the answered one is not in the open queue
    assert rows(client.get("/?status=answered").text) == [("", "answered", "ESL-000006")]   # no days for it


DISTRIBUTION = ([{"kind": "access"}] * 3 + [{"kind": "deletion", "language": "zh", "verification": "challenged"}] * 2
                + [{"kind": "correction", "verification": "verified"}]
                + [{"kind": "access", "status": "answered", "verification": "verified"}] * 4)


def test_counts_of_each_filter_value_given_the_other_filters(bot, clock):
    add_tickets(bot, clock, *DISTRIBUTION)
    with bot.sessions() as session:
        facets, total = facet_counts(session, QueueFilter())
        assert total == 6
        assert facets["kind"] == [("access", 3), ("deletion", 2), ("correction", 1)]
        assert facets["status"] == [("open", 6), ("answered", 4)]   # biggest first
        assert dict(facets["language"]) == {"en": 4, "zh": 2}
        assert dict(facets["verification"]) == {"pending": 3, "challenged": 2, "verified": 1}
        facets, total = facet_counts(session, QueueFilter(kind="access"))
        assert total == 3
        assert dict(facets["status"]) == {"open": 3, "answered": 4}   # other statuses, still access only
        assert dict(facets["kind"]) == {"access": 3, "deletion": 2, "correction": 1}   # its own filter left out
        assert dict(facets["language"]) == {"en": 3}
        facets, total = facet_counts(session, QueueFilter(status=None, verification="verified"))
        assert total == 5 and dict(facets["kind"]) == {"access": 4, "correction": 1}


@pytest.mark.parametrize("query,expected", [
    ("", {f"ESL-{n:06d}" for n in range(1, 7)}),
    ("?kind=deletion", {"ESL-000004", "ESL-000005"}),
    ("?language=zh", {"ESL-000004", "ESL-000005"}),
    ("?verification=verified", {"ESL-000006"}),
    ("?status=answered", {f"ESL-{n:06d}" for n in range(7, 11)}),
    ("?status=all&kind=access&verification=verified", {f"ESL-{n:06d}" for n in range(7, 11)}),
    ("?status=all&q=esl-000009", {"ESL-000009"}),
    ("?q=USER2@example.org", {"ESL-000002"}),
])
def test_filters_show_only_matching_tickets_and_their_counts(client, bot, clock, query, expected):
    add_tickets(bot, clock, *DISTRIBUTION)
    html = client.get("/" + query).text
    assert {ref for _, _, ref in rows(html)} == expected
    assert f"{len(expected)} ticket" in html


def test_the_chips_show_the_counts_and_keep_the_other_filters(client, bot, clock):
    add_tickets(bot, clock, *DISTRIBUTION)
    html = client.get("/?kind=access").text
    assert ">answered<b>4</b>" in html and ">open<b>3</b>" in html and ">English<b>3</b>" in html
    assert 'href="/?status=answered&amp;kind=access"' in html
    assert 'href="/"' in html          # "all" kinds: the kind filter cleared, back to the everyday queue


def test_pages_of_page_size_in_due_order(client, bot, clock):
    add_tickets(bot, clock, *[{"due_at": clock.now() + timedelta(hours=n)} for n in range(25)])
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/?page={page}").text
        assert f"page {page} of 3" in html
        seen += [ref for _, _, ref in rows(html)]
    assert seen == [f"ESL-{n:06d}" for n in range(1, 26)]
    assert "page 3 of 3" in client.get("/?page=99").text


def test_chinese_text_is_served_as_utf8(client, bot, clock):
    add_tickets(bot, clock, {"subject": "删除我的账号和个人信息", "language": "zh"})
    response = client.get("/")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "删除我的账号和个人信息" in response.text and 'lang="zh"' in response.text


def test_what_requesters_wrote_is_shown_never_run(client, bot, clock):
    add_tickets(bot, clock, {"subject": '<script>alert("x")</script>', "requester": "a&b@example.org"})
    html = client.get("/").text
    assert "<script>" not in html and "&lt;script&gt;alert(" in html and "a&amp;b@example.org" in html


def quarantined(bot, clock, raw: bytes, n: int = 1, status: str = "quarantined") -> int:
    with transaction(bot.sessions) as session:
        row = InboundMessage(dedup_key=f"q{n}", sender="broken@example.net", subject="坏邮件", raw=raw, uid=n,
                             received_at=clock.now(), status=status, folder="INBOX",
                             quarantine_reason="UnicodeError: boom" if status == "quarantined" else None)
        session.add(row)
        session.flush()
        return row.id


def test_quarantine_lists_what_the_bot_could_not_handle(client, bot, clock):
    raw = "Subject: =?utf-8?b?5Z2P6YKu5Lu2?=\r\n\r\n正文 body\r\n".encode()
    first = quarantined(bot, clock, raw)
    handled = quarantined(bot, clock, b"Subject: fine\r\n\r\nok", n=2, status="handled")
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert "1 message the bot could not handle" in page.text and "UnicodeError: boom" in page.text
    assert f'/quarantine/{first}"' in page.text and f'/quarantine/{handled}"' not in page.text
    detail = client.get(f"/quarantine/{first}")
    assert "正文 body" in detail.text and "broken@example.net" in detail.text
    download = client.get(f"/quarantine/{first}/raw")
    assert download.content == raw and download.headers["content-type"] == "message/rfc822"
    assert client.get(f"/quarantine/{handled}").status_code == 404


def test_an_empty_quarantine_says_so(client):
    assert "The quarantine is empty." in client.get("/quarantine").text
