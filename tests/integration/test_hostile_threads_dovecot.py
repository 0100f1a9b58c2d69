"""Issue 13, end to end (Dovecot + SMTP recorder): a stranger cannot plant values in a requester's
correction draft, and a forged bounce cannot silence anyone."""
from __future__ import annotations

import json
import re

from tests.integration.conftest import of_kind, write_config
from tests.integration.test_intake_dovecot import json_lines, supportbot
from tests.integration.test_verification_dovecot import _mail

ACCOUNTS = "account_id,nickname,phone,email,wechat_bound,status\nA1,owner,13800138000,owner@example.org,true,active\n"
PLANT = "Please change my email to evil@attacker.test and my phone to 13055556666."


def _config(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                 sections={"verification": {"trusted_authserv_ids": ["mx.esl.example"]}})
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS)
    supportbot(config, "accounts", "import", str(accounts))
    return config


def test_strangers_on_the_thread_plant_nothing_in_the_correction_draft(tmp_path, dovecot, smtp):
    config = _config(tmp_path, dovecot, smtp)
    dovecot.append(_mail("owner@example.org", "Wrong phone", "My phone number is wrong, please change it to "
                         "13911112222.", "<own-1@example.org>"))
    supportbot(config, "run", "--once")
    reference = json_lines(supportbot(config, "tickets", "list", "--json").stdout)[0]["reference"]
    # One mail per request: the acknowledgement carries the code (to the registered address, the sender's).
    [ack] = [m.message for m in of_kind(smtp.received, "ack-code")]
    # A stranger joins by In-Reply-To (the requester's own Message-ID, and ours); a forger writes as the owner.
    dovecot.append(_mail("stranger@attacker.test", f"Re: [{reference}]", PLANT, "<s1@attacker.test>",
                         In_Reply_To="<own-1@example.org>"))
    dovecot.append(_mail("stranger@attacker.test", f"Re: [{reference}]", PLANT, "<s2@attacker.test>",
                         In_Reply_To=ack["Message-ID"]))
    dovecot.append(_mail("Owner <owner@example.org>", f"Re: [{reference}] update", PLANT, "<f1@attacker.test>"))
    supportbot(config, "run", "--once")
    challenge = ack   # the code of the requester's own ticket (a forged mail may open one of its own)
    code = re.search(r"\b\d{4}-\d{4}\b", challenge.get_body(("plain",)).get_content()).group()
    dovecot.append(_mail("owner@example.org", "Re: " + challenge["Subject"], f"It was me. {code}",
                         "<own-2@example.org>", In_Reply_To=challenge["Message-ID"]))
    supportbot(config, "run", "--once")

    detail = json.loads(supportbot(config, "tickets", "show", reference).stdout)
    assert detail["verification"] == "verified"
    parties = {m["message_id"]: m["party"] for m in detail["messages"]}
    assert parties["<s1@attacker.test>"] == parties["<s2@attacker.test>"] == "third-party"
    assert parties.get("<f1@attacker.test>", "not on this ticket") != "requester"
    [draft] = json_lines(supportbot(config, "drafts", "list", "--json").stdout)
    text = supportbot(config, "drafts", "show", str(draft["id"])).stdout
    assert "+8613911112222" in text
    assert "evil@attacker.test" not in text and "13055556666" not in text
    assert {r for m in smtp.received for r in m.recipients} == {"owner@example.org"}


DSN = ("From: Mail Delivery System <MAILER-DAEMON@attacker.test>\r\nTo: support@esl.example\r\n"
       "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@attacker.test>\r\nMIME-Version: 1.0\r\n"
       'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
       "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
       "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; attacker.test\r\n\r\n"
       "Final-Recipient: rfc822; victim@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
       "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {returned}\r\nTo: victim@example.org\r\n"
       "--b1--\r\n")


def test_a_forged_bounce_silences_nobody_and_a_real_one_suppresses(tmp_path, dovecot, smtp):
    config = _config(tmp_path, dovecot, smtp)
    dovecot.append(_mail("victim@example.org", "Delete my account", "Please delete my account.", "<v1@example.org>"))
    supportbot(config, "run", "--once")
    [ack] = [m.message for m in of_kind(smtp.received) if "victim@example.org" in m.recipients]
    dovecot.append(DSN.format(returned="<guessed@esl.example>").encode())
    dovecot.append(_mail("postmaster@attacker.test", "Undeliverable: your mail",
                         "Delivery to victim@example.org failed permanently: 550 5.1.1 user unknown.",
                         "<pm-1@attacker.test>", Return_Path="<>"))
    supportbot(config, "run", "--once")
    assert supportbot(config, "suppressions", "list").stdout.strip() == ""
    machine = [m for m in json_lines(supportbot(config, "messages", "list", "--json").stdout)
               if m["message_id"] in ("<dsn-1@attacker.test>", "<pm-1@attacker.test>")]
    assert len(machine) == 2 and all(m["machine_mail"] and m["ticket"] is None for m in machine)
    dovecot.append(_mail("victim@example.org", "Copy of my data", "Please send me a copy of my data.",
                         "<v2@example.org>"))
    supportbot(config, "run", "--once")
    assert len([m for m in of_kind(smtp.received) if "victim@example.org" in m.recipients]) == 2

    # A bounce that returns our acknowledgement's Message-ID is ours: the address is suppressed.
    dovecot.append(DSN.format(returned=ack["Message-ID"]).replace("dsn-1", "dsn-2").encode())
    supportbot(config, "run", "--once")
    [row] = json_lines(supportbot(config, "suppressions", "list").stdout)
    assert (row["address"], row["bounce_message_id"]) == ("victim@example.org", "<dsn-2@attacker.test>")
