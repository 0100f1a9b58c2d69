"""Hostile From headers, APPENDed to Dovecot and handled by `supportbot run --once`: addresses are
parsed, not guessed (quoted local parts, undecodable or empty From, internationalised addresses)."""
from __future__ import annotations

import json

import pytest

from tests.integration.conftest import of_kind, write_config
from tests.integration.test_intake_dovecot import json_lines, supportbot
from tests.support import mailgen

AUTHSERV = "mx.esl.example"


def _raw(from_header: str, subject: str, n: int, *, dmarc_domain: str = "") -> bytes:
    """A request with the From header exactly as given (raw bytes, UTF-8 where not ASCII)."""
    head = [f"From: {from_header}", "To: support@esl.example", f"Subject: {subject}",
            f"Message-ID: <hostile-{n}@attacker.test>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    if dmarc_domain:
        head.insert(0, f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from={dmarc_domain}; "
                       f"spf=pass smtp.mailfrom={dmarc_domain}")
    body = f"Please delete my account and all my personal data. (hostile {n})\r\n"
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode("utf-8")


@pytest.fixture
def setup(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                 sections={"verification": {"trusted_authserv_ids": [AUTHSERV]}})
    return config, dovecot, smtp


def test_quoted_local_parts_are_kept_whole_and_never_mailed(setup):
    config, dovecot, smtp = setup
    dovecot.append(mailgen.request(1, sender="li.hua@example.com"))
    supportbot(config, "run", "--once")
    reference = json_lines(supportbot(config, "tickets", "list", "--json").stdout)[0]["reference"]
    # A look-alike of li.hua, DMARC-authenticated for the attacker's domain, quoting her reference.
    dovecot.append(_raw('"x li.hua@example.com"@attacker.test', f"Re: [{reference}] change my email", 2,
                        dmarc_domain="attacker.test"))
    # An address that smuggles a second recipient into a careless reading of RCPT TO.
    dovecot.append(_raw('"a RCPT TO:<victim@evil.test> b"@attacker.test', "Delete my data", 3))

    supportbot(config, "run", "--once")
    messages = {m["message_id"]: m for m in json_lines(supportbot(config, "messages", "list", "--json").stdout)}
    lookalike, smuggler = messages["<hostile-2@attacker.test>"], messages["<hostile-3@attacker.test>"]
    assert lookalike["sender"] == '"x li.hua@example.com"@attacker.test'
    assert lookalike["ticket"] != reference                   # did not join li.hua's ticket
    assert smuggler["sender"] == '"a rcpt to:<victim@evil.test> b"@attacker.test'
    recipients = [r for mail in smtp.received for r in mail.recipients]
    assert "victim@evil.test" not in recipients and not any("attacker.test" in r for r in recipients)
    assert [m.recipients for m in of_kind(smtp.received)] == [["li.hua@example.com"]]   # her own only
    # The refused acknowledgements are on the tickets' trails, for staff.
    for hostile in (lookalike, smuggler):
        detail = json.loads(supportbot(config, "tickets", "show", hostile["ticket"]).stdout)
        failed = [e for e in detail["audit"] if e["action"] == "mail.failed"]
        assert failed and "quoted local part" in json.dumps(failed, ensure_ascii=False)


@pytest.mark.parametrize("from_header", ["=?utf-8?B?broken", "", "Bob <bob@x.org> trailing junk"])
def test_no_usable_sender_means_no_ticket_and_no_mail_but_staff_see_it(setup, from_header):
    config, dovecot, smtp = setup
    dovecot.append(_raw(from_header, "Delete my data", 4))
    dovecot.append(mailgen.request(5))
    supportbot(config, "run", "--once")
    tickets = json_lines(supportbot(config, "tickets", "list", "--json").stdout)
    assert [t["requester"] for t in tickets] == ["user5@example.org"]
    assert {r for m in smtp.received for r in m.recipients} == {"user5@example.org"}
    quarantined = json_lines(supportbot(config, "quarantine", "list").stdout)
    assert len(quarantined) == 1 and quarantined[0]["reason"].startswith("no usable sender")
    assert quarantined[0]["subject"] == "Delete my data"


def test_an_internationalised_sender_is_acknowledged_between_others(setup):
    config, dovecot, smtp = setup
    dovecot.append(mailgen.request(6))
    dovecot.append(_raw("李华 <李华@example.cn>", "删除我的账号", 7))
    dovecot.append(mailgen.request(8))
    done = supportbot(config, "run", "--once")
    assert "failed: 0" in done.stdout
    assert [m.recipients for m in of_kind(smtp.received)] == [
        ["user6@example.org"], ["李华@example.cn"], ["user8@example.org"]]
    supportbot(config, "run", "--once")
    assert len(of_kind(smtp.received)) == 3                   # nothing sent again
