"""Intake and `supportbot classify-file` read the same mail the same way: quotes, forwards, signatures, disclaimers."""
from __future__ import annotations

import json
from email.message import EmailMessage
from email.policy import SMTP

from sqlmodel import Session, select

from bot.service.app import build_app
from bot.mail.text import classifier_input, strip_disclaimers
from bot.intake.fetcher import drain_folder
from bot.store.models import Ticket
from tests.support.memory_mailbox import MemoryMailbox
from tests.unit.cli.test_classify_commands import run_bot, write_lines

DISCLAIMER_EN = ("CONFIDENTIALITY NOTICE: this message and any attachments are confidential and\n"
                 "intended solely for the addressee. If you have received this email in error,\n"
                 "please notify the sender immediately and delete it from your system.")
DISCLAIMER_ZH = "本邮件及附件可能含有保密信息，仅供指定收件人使用。如果您误收了本邮件，请通知发件人并立即删除。"

# (subject, body): what the sender wrote new is the request; what is quoted, forwarded or
# legal boilerplate says something else.
MAILS = [
    ("Re: my data", "Could you send me a copy of everything you store about me?\n\n"
     "On Tue, 3 Nov 2026 at 10:02, ESL Support <support@esl.example> wrote:\n"
     "> Your account and all data were deleted as you asked.\n> Please delete this mail."),
    ("Phone number", "My phone number changed to 139 1234 0000, please update the record.\n\n"
     + DISCLAIMER_EN),
    ("修改手机号", "麻烦把我账户上的手机号改成13912340000，谢谢。\n\n" + DISCLAIMER_ZH),
    ("Fwd: offer", "FYI, is this mail really from you?\n\n---------- Forwarded message ---------\n"
     "From: Promo <promo@shop.example>\nDate: Mon, 2 Nov 2026\nSubject: offer\nTo: me@example.org\n\n"
     "Delete your old account today and get 50% off a new one!"),
    ("回复：账号", "我想要一份你们保存的我的全部个人资料。\n\n"
     "在 2026年11月2日 周一 09:00，ESL 客服 <support@esl.example> 写道：\n> 您好，请问您要删除账号吗？"),
    ("", "Please remove my account and everything linked to it.\n\n-- \nJo Smith\nHead of Ops\n"
     + DISCLAIMER_EN),
    ("hello", DISCLAIMER_EN),
]


def raw_mail(n: int, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"user{n}@example.org", "support@esl.example", subject
    msg["Message-ID"] = f"<live-offline-{n}@example.org>"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def test_intake_and_classify_file_give_identical_results(settings, engine, clock, tmp_path):
    app = build_app(settings, engine=engine, clock=clock, create_schema=False)
    box = MemoryMailbox()
    for n, (subject, body) in enumerate(MAILS):
        box.add(raw_mail(n, subject, body))
    drain_folder(box, app.pipeline, folder="INBOX")
    with Session(app.engine) as s:
        live = [(t.kind, t.labels.split(","), t.confidence, t.language)
                for t in s.exec(select(Ticket).order_by(Ticket.id))]

    write_lines(tmp_path / "in.jsonl", [{"id": n, "subject": s, "body": b} for n, (s, b) in enumerate(MAILS)])
    done = run_bot(tmp_path, "classify-file", "in.jsonl", "--out", "out.jsonl")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    offline = [(r["label"], r["labels"], r["confidence"], r["language"]) for r in rows]
    assert offline == live
    assert [kind for kind, *_ in live][:3] == ["access", "correction", "correction"]


def test_disclaimers_leave_the_request_and_nothing_else():
    subject, body = classifier_input("Re: Fwd: Phone", MAILS[1][1])
    assert subject == "Phone" and body == "My phone number changed to 139 1234 0000, please update the record."
    assert classifier_input("", MAILS[2][1])[1] == "麻烦把我账户上的手机号改成13912340000，谢谢。"
    assert "delete" not in classifier_input("", MAILS[5][1])[1].lower()


def test_a_mail_that_is_only_a_disclaimer_or_mentions_wrong_charges_keeps_its_text():
    assert strip_disclaimers(DISCLAIMER_EN) == DISCLAIMER_EN
    refund = "你们误收了我两次会员费，请退款。\n\n我不是第一次遇到这个问题了。"
    assert strip_disclaimers(refund) == refund
    received = "I received the parcel in error, it was meant for my neighbour."
    assert strip_disclaimers(received) == received
