"""What a requester receives: one automatic mail per request (the acknowledgement carries the code or the
account question), wholly in their language, greeting them by the name they wrote under, wrapped cleanly."""
from __future__ import annotations

import json
import re
from email import message_from_bytes, policy

from sqlmodel import Session, select

from bot.store.models import AuditEvent, Draft
from tests.support.pipeline_flow import Flow, mail, make_app

REQUESTS = [("Copy of my data", "Please send me a copy of all my personal data."),
            ("Wrong phone", "My phone number is wrong, please change it to 13911112222."),
            ("Delete my account", "Please delete my account and all my data.")]


def body(row) -> str:
    return message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content().replace("\r\n", "\n")


def withheld(flow) -> list[dict]:
    with Session(flow.app.engine) as s:
        return [json.loads(e.detail) for e in s.exec(select(AuditEvent).where(AuditEvent.action == "mail.withheld"))]


def test_three_requests_in_an_hour_each_get_one_mail_carrying_the_code_or_the_question(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path, loops={"per_address_per_hour": 5}))
    for n, (subject, text) in enumerate(REQUESTS, 1):
        flow.send(mail("owner@example.org", subject, text, f"<own{n}@x>"))            # a registered address
        flow.send(mail("Wang Fang <stranger@example.net>", subject, text, f"<str{n}@x>"))  # no account
    assert withheld(flow) == []
    for who, carries in (("owner@example.org", re.compile(r"\d{4}-\d{4}")),
                         ("stranger@example.net", re.compile(r"mobile phone number"))):
        rows = [row for row in flow.outbox() if row.to_address == who]
        assert len(rows) == 3, [row.kind for row in rows]         # one mail per request, not two
        assert all(carries.search(body(row)) for row in rows)
    code, challenge_id, to = flow.code_and_id()
    flow.reply("owner@example.org", f"Here it is: {code}", challenge_id, 9)
    assert flow.ticket(5).verification == "verified"            # the code in the acknowledgement works


def test_greeted_by_the_name_they_wrote_under_never_the_account_nickname(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path))
    flow.send(mail("Alice Chen <owner@example.org>", "Wrong phone", REQUESTS[1][1], "<n1@x>"))
    ack = flow.outbox()[0]
    assert body(ack).startswith("Hello Alice Chen,\n")
    code, challenge_id, _ = flow.code_and_id()
    flow.reply("owner@example.org", f"Here it is: {code}", challenge_id, 2)
    with Session(flow.app.engine) as s:
        draft = s.exec(select(Draft)).one()
    assert draft.text.startswith("Hello Alice Chen,\n") and "alice_c" not in draft.text
    flow.send(mail("stranger@example.net", "Delete my account", REQUESTS[2][1], "<n3@x>"))   # no name: neutral
    assert body(flow.outbox()[-1]).startswith("Hello,\n")


def test_the_english_acknowledgement_breaks_no_sentence_across_lines(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path))
    flow.send(mail("owner@example.org", "Delete my account", REQUESTS[2][1], "<w1@x>"))
    text = body(flow.outbox()[0]).replace("\r\n", "\n")
    assert "Before we send, change or delete" in text
    for paragraph in text.split("\n\n"):
        lines = paragraph.strip("\n").split("\n")
        # A paragraph is one line (mail programs wrap it to the screen), or a block of indented fields.
        assert len(lines) == 1 or all(line.startswith("  ") for line in lines), paragraph


def test_chinese_mail_is_wholly_chinese(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path))
    flow.send(mail("李华 <owner@example.org>", "删除账号", "请删除我的账号和所有个人数据。", "<z1@x>"))
    ack = body(flow.outbox()[0])
    assert ack.startswith("您好，李华：") and "北京时间" in ack and "Asia/Shanghai" not in ack
    renderer = flow.app.pipeline.renderer
    access = renderer.render("draft_access", "zh", name="", reference="ESL-000001", kind="access",
                             due_date="2026-12-09", original="", attachments=["a.json"],
                             sections=["profile", "login_log"], rows=3).text
    assert "内容包括：账号资料、登录记录。" in access and "profile" not in access
    correction = renderer.render("draft_correction", "zh", name="", reference="ESL-000001", kind="correction",
                                 due_date="2026-12-09", original="",
                                 corrections=[{"field": "phone", "new_value": "+8613911112222"}]).text
    assert "手机号码：+8613911112222" in correction
