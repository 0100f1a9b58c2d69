"""The evidence pack of one request: every fact and part listed, nothing of anyone else, never a code."""
from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.store.audit_chain import chain_hash
from bot.cli.evidence import register
from bot.config import Settings, SmtpSettings
from bot.store.db import init_db, make_engine, transaction
from bot.drafts.approve import approve
from bot.tickets.evidence.pack import write_pack
from bot.mail.sink import SmtpSink
from bot.store.models import Draft, OutboxMessage, StaffUser, Ticket
from bot.store.processor_models import ProcessorNotice
from bot.drafts.notices import remind
from bot.store.retention import run_purge
from bot.outbox.sender import drain_outbox
from bot.web.auth import add_user
from bot.sla.delivery import settle_replies
from tests.support.cli_app import cli_with
from tests.support.pipeline_flow import Flow, mail, make_app

PROCESSORS = [{"name": "SMS gateway", "email": "privacy@sms.example"},
              {"name": "Analytics", "email": "dpo@analytics.example"}]
OTHER_BODY = "Please delete everything about me. My phone is 13900139000. OTHER-PERSON-MARK"


def send_all(app, smtp) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example")
    asyncio.run(drain_outbox(app.sessions, SmtpSink(settings), app.clock, settings))
    settle_replies(app.sessions, app.settings, app.clock)   # as App.drain_outbox: delivered replies complete


def deletion_by_code(app, flow, smtp, *, chinese: bool) -> tuple[Ticket, str]:
    """Someone else's request first; then ours, verified by a code, approved, notices sent."""
    flow.send(mail("someone@example.org", "Delete my account", OTHER_BODY, "<other@x>"))
    subject, body = (("删除账户", "请删除我的账户和所有个人数据。") if chinese
                     else ("Delete my account", "Please delete my account and all my personal data."))
    flow.send(mail("owner@example.org", subject, body, "<d1@x>"))
    ticket = flow.ticket(2)
    code, challenge_id, _ = flow.code_and_id()
    flow.reply("owner@example.org", f"{'验证码' if chinese else 'My code is'} {code}", challenge_id, 1)
    with transaction(app.sessions) as session:
        draft = session.exec(select(Draft).where(Draft.ticket_id == ticket.id, Draft.status == "pending")).one()
        approve(session, draft.id, app.pipeline, actor="staff:li@esl.example")
    send_all(app, smtp)
    with Session(app.engine) as s:
        sms, analytics = s.exec(select(ProcessorNotice).order_by(ProcessorNotice.id)).all()
    flow.send(mail("privacy@sms.example", "Re: deletion", "We have deleted all data of this user.", "<p1@sms>",
                   In_Reply_To=sms.message_id))
    app.clock.advance(timedelta(days=7))
    with transaction(app.sessions) as session:   # Analytics is silent: one reminder
        assert remind(session, settings=app.settings, now=app.clock.now(), renderer=app.pipeline.renderer)
    send_all(app, smtp)
    flow.send(mail("dpo@analytics.example", f"回复 ({analytics.token})", "该用户数据已删除。", "<p2@an>"))
    with Session(app.engine) as s:   # someone else answers our acknowledgement: threaded, never in the pack
        ack = s.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == 2,
                                                  OutboxMessage.kind.in_(("ack", "ack-code")))).one()
    flow.send(mail("stranger@example.net", "Re: ack", "STRANGER-MARK my own story", "<s1@x>",
                   In_Reply_To=ack.message_id))
    return flow.ticket(2), code


@pytest.fixture
def deletion_app(engine, clock, tmp_path):
    app = make_app(engine, clock, tmp_path, deletion={"third_parties": PROCESSORS})
    with transaction(app.sessions) as session:
        add_user(session, "li@esl.example", "a long staff password 1", role="staff", now=clock.now(), min_length=12)
    return app


@pytest.fixture
def flow(deletion_app):
    return Flow(deletion_app)


def unpack(app, ticket: Ticket) -> tuple[dict[str, bytes], object]:
    buffer = io.BytesIO()
    with Session(app.engine) as session:
        facts = write_pack(session, app.settings, session.get(Ticket, ticket.id), buffer, app.clock.now())
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as pack:
        return {name.split("/", 1)[1]: pack.read(name) for name in pack.namelist()}, facts


def check_chain(lines: list[dict]) -> None:
    prev = ""
    for row in lines:
        assert row["prev_hash"] == prev
        assert row["row_hash"] == chain_hash(prev, row["at"], row["actor"], row["action"], row["ticket_id"],
                                             row["inbound_id"], row["detail_sha256"])
        prev = row["row_hash"]


@pytest.mark.parametrize("chinese", [False, True])
def test_pack_of_a_deletion_request_holds_every_item_and_nothing_else(deletion_app, flow, smtp, chinese):
    ticket, code = deletion_by_code(deletion_app, flow, smtp, chinese=chinese)
    files, facts = unpack(deletion_app, ticket)
    summary = files["summary.html"].decode()
    english = summary[summary.index('id="summary-en"'):]
    for fact in ("Arrived", "Acknowledged", "code by email", "owner@example.org", "staff:li@esl.example",
                 "draft.approved", "deletion.scheduled", "reply-deletion", "third-party-notice", "Due",
                 "in time", "SMS gateway", "Analytics", "processor-reminder", "processor.answered"):
        assert fact in english, fact
    states = {n["party"]: (n["state"], n["reminders"]) for n in facts.notices}
    assert states == {"SMS gateway": ("confirmed", 0), "Analytics": ("confirmed", 1)}
    assert english.count("<td>confirmed</td>") == 2
    assert ('id="summary-zh"' in summary) == chinese
    if chinese:
        assert "收到时间" in summary and "按时" in summary and "删除通知" in summary
    emls = [name for name in files if name.endswith(".eml")]
    kinds = [s["kind"] for s in facts.sent]
    # The request, the code reply, the two answers; what we sent but the code mail.
    assert len(emls) == 4 + len(kinds) - 1
    assert "not kept: it carried a one-time code" in summary
    assert {"ack-code", "reply-deletion"} <= set(kinds) and kinds.count("third-party-notice") == 2   # one mail: ack + code
    assert kinds.count("processor-reminder") == 1
    rows = [json.loads(line) for line in files["audit.jsonl"].decode().splitlines()]
    check_chain(rows)
    assert json.loads(files["chain-head.json"])["head"] == rows[-1]["row_hash"] and facts.chain_intact
    assert {r["ticket_id"] for r in rows} == {ticket.id}
    everything = b"".join(files.values())
    assert "withheld: another person" in summary
    for secret in (code, f"{code[:4]}-{code[4:]}", "OTHER-PERSON-MARK", "someone@example.org", "13900139000",
                   "STRANGER-MARK", "stranger@example.net"):
        assert secret.encode() not in everything, secret
    with Session(deletion_app.engine) as s:
        password_hash = s.exec(select(StaffUser.password_hash)).first()
    assert password_hash.encode() not in everything and b"a long staff password" not in everything
    assert b"[one-time code withheld]" in everything


def test_pack_of_a_purged_ticket_says_what_went_and_when(deletion_app, flow, smtp, clock):
    from datetime import timedelta
    ticket, _ = deletion_by_code(deletion_app, flow, smtp, chinese=False)
    clock.advance(timedelta(days=400))
    run_purge(deletion_app.sessions, clock.now(), 365)
    files, facts = unpack(deletion_app, ticket)
    summary = files["summary.html"].decode()
    assert "Purged under retention" in summary and f"{facts.purges[0]['at']:%Y-%m-%d}" in summary
    assert "messages: 5" in summary and not [n for n in files if n.endswith(".eml")]
    assert "purged under retention" in summary   # each message listed, its file gone
    check_chain([json.loads(line) for line in files["audit.jsonl"].decode().splitlines()])


def test_evidence_command_writes_the_zip_quickly(tmp_path, clock, smtp):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    init_db(engine)
    app = make_app(engine, clock, tmp_path, deletion={"third_parties": PROCESSORS})
    flow = Flow(app)
    deletion_by_code(app, flow, smtp, chinese=False)
    for n in range(13):   # 18 messages in (one withheld), 5 kept copies of ours out
        flow.send(mail("owner@example.org", f"Re: [{flow.ticket(2).reference}]", f"Any news? {n}", f"<f{n}@x>",
                       In_Reply_To="<d1@x>"))
    out = tmp_path / "pack.zip"
    cli = cli_with(Settings(database={"url": url}, deletion={"third_parties": PROCESSORS}), register_tickets)
    start = time.perf_counter()
    reference = flow.ticket(2).reference
    result = CliRunner().invoke(cli, ["tickets", "evidence", reference, "--out", str(out)])
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as pack:
        emls = [n for n in pack.namelist() if n.endswith(".eml")]
    print(f"\nevidence pack of a ticket with {len(emls)} messages: {elapsed:.2f}s")
    assert len(emls) >= 20 and elapsed <= 1.0
    missing = CliRunner().invoke(cli, ["tickets", "evidence", "ESL-999999", "--out", str(out)])
    assert missing.exit_code == 1
    engine.dispose()


def register_tickets(app) -> None:
    import typer
    tickets = typer.Typer()
    register(tickets)
    app.add_typer(tickets, name="tickets")

