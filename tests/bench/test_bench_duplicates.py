"""Issue 13.7, end to end: 200 generated mails (Dovecot, `supportbot run --once`, the SMTP recorder):
no request is linked to a ticket about something else; prints how many were linked."""
from __future__ import annotations

import json
from email import message_from_bytes

from tests.bench.test_bench_e2e import NO_LOOP_LIMITS, _append_all
from tests.integration.conftest import of_kind, write_config
from tests.integration.test_intake_dovecot import json_lines, supportbot
from tests.support.mailgen import mixed_mailbox


def test_no_request_is_linked_to_a_ticket_about_something_else(tmp_path, dovecot, smtp):
    config = tmp_path / "bot.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                 sections=NO_LOOP_LIMITS)
    box = mixed_mailbox(200)
    topic_of = {message_from_bytes(raw)["Message-ID"]: topic for raw, topic in box}
    _append_all(dovecot, [raw for raw, _ in box])
    supportbot(config, "run", "--once")
    messages = json_lines(supportbot(config, "messages", "list", "--json").stdout)
    assert len(messages) == 200
    first_of = {m["ticket"]: m["message_id"] for m in messages if m["opened_ticket"]}
    linked = [m for m in messages if not m["opened_ticket"]]
    wrong = [(topic_of[m["message_id"]], topic_of[first_of[m["ticket"]]]) for m in linked
             if topic_of[m["message_id"]] != topic_of[first_of[m["ticket"]]]]
    notices = of_kind(smtp.received, "duplicate-notice")
    print(f"\n200 generated mails end to end: {len(first_of)} tickets, {len(linked)} linked as duplicates, "
          f"{len(notices)} duplicate notices sent, {len(wrong)} linked to a ticket about something else")
    assert wrong == [], json.dumps(wrong, ensure_ascii=False)
    assert len(notices) == len(linked) > 0
