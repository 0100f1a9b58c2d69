"""Issue 'verify senders', end to end: a forged deletion request only ever reaches the real owner."""
from __future__ import annotations

import json
import re
from email.message import EmailMessage
from email.policy import SMTP

from tests.integration.conftest import of_kind, write_config
from tests.integration.test_intake_dovecot import json_lines, supportbot


def _mail(sender: str, subject: str, body: str, msgid: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, "support@esl.example", subject, msgid
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def test_forged_deletion_gets_a_challenge_to_the_owner_and_the_owners_code_verifies(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.store.db'}")
    with config.open("a") as f:
        f.write('[verification]\ntrusted_authserv_ids = ["mx.esl.example"]\n')
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,nickname,phone,email,wechat_bound,status\n"
                        "A1,owner,13800138000,owner@example.org,true,active\n")
    supportbot(config, "accounts", "import", str(accounts))

    # The forger writes From: the owner, and even adds a "pass" result of their own making.
    dovecot.append(_mail("Owner <owner@example.org>", "Delete my account", "Delete my account and all my data now.",
                         "<forged@evil.example>",
                         Authentication_Results="evil.example; dmarc=pass header.from=example.org"))
    supportbot(config, "run", "--once")
    ticket = json_lines(supportbot(config, "tickets", "list", "--json").stdout)[0]
    assert (ticket["kind"], ticket["verification"], ticket["account_id"]) == ("deletion", "challenged", "A1")
    assert {r for m in smtp.received for r in m.recipients} == {"owner@example.org"}
    challenge = of_kind(smtp.received, "ack-code")[0].message   # the acknowledgement carries the code
    code = re.search(r"\b\d{4}-\d{4}\b", challenge.get_body(("plain",)).get_content()).group()

    # The owner replies with the code, quoting our mail, from the registered address.
    dovecot.append(_mail("owner@example.org", "Re: " + challenge["Subject"], f"Yes it was me. {code}",
                         "<owner-reply@example.org>", In_Reply_To=challenge["Message-ID"]))
    supportbot(config, "run", "--once")
    detail = json.loads(supportbot(config, "tickets", "show", ticket["reference"]).stdout)
    assert detail["verification"] == "verified"
    actions = [a["action"] for a in detail["audit"]]
    assert actions.index("verification.challenged") < actions.index("verification.verified")
    assert {"ticket.opened", "account.match", "verification.headers_not_enough", "mail.sent"} <= set(actions)
    assert detail["audit"][actions.index("verification.verified")]["detail"]["method"] == "code by email"
