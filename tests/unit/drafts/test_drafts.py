"""Drafts: created on verification with the account's real data, sent only as approved, side effects once."""
from __future__ import annotations

import json
from email import message_from_bytes, policy

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from bot.store.db import transaction
from bot.drafts.actions import run_pending_actions
from bot.drafts.approve import DraftError, approve, reject
from bot.store.models import ActionRun, AuditEvent, Draft, DraftAttachment, OutboxMessage, Ticket
from bot.tickets.opening import reclassify
from bot.drafts.guard import NotVerified
from tests.support.pipeline_flow import TRUSTED_PASS, Flow, mail, make_app
from tests.support.refs import plain


def drafts(app) -> list[Draft]:
    with Session(app.engine) as s:
        return list(s.exec(select(Draft).order_by(Draft.id)))


def decide(app, action, draft_id, **kwargs):
    with transaction(app.sessions) as session:
        return action(session, draft_id, app.pipeline, **kwargs)


def verified_request(flow, subject, body, n=1):
    flow.send(mail("owner@example.org", subject, body, f"<v{n}@x>", Authentication_Results=TRUSTED_PASS))


@pytest.fixture
def app_db(tmp_path):
    """The app's own database (a SQLite file here; the bot's database is parametrised)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE login_log (account VARCHAR(10), ip VARCHAR(40), device VARCHAR(40))"))
        conn.execute(text("INSERT INTO login_log VALUES ('A1', '10.1.2.3', 'iPhone'), ('A2', '10.9.9.9', 'other')"))
        conn.execute(text("CREATE TABLE app_user (id VARCHAR(10) PRIMARY KEY, nick VARCHAR(20))"))
        conn.execute(text("INSERT INTO app_user VALUES ('A1', 'alice_c'), ('A2', 'bobby')"))
    yield url, engine
    engine.dispose()


def test_verified_access_request_gets_a_draft_with_the_accounts_data(engine, clock, tmp_path, app_db):
    app = make_app(engine, clock, tmp_path, export={
        "url": app_db[0], "queries": {"login_log": "SELECT ip, device FROM login_log WHERE account = :account_id"}})
    flow = Flow(app)
    verified_request(flow, "Copy of my data", "Please send me a copy of all my personal data.")
    (draft,) = drafts(app)
    assert (draft.kind, draft.to_address, draft.status) == ("access", "owner@example.org", "pending")
    with Session(app.engine) as s:
        files = {plain(f.filename): f.data for f in s.exec(select(DraftAttachment))}
    data = json.loads(files["personal-data-ESL-000001.json"])
    assert data["profile"]["nickname"] == "alice_c" and data["profile"]["phone"] == "+8613800138000"
    assert data["login_log"] == [{"ip": "10.1.2.3", "device": "iPhone"}]   # only this account's rows
    assert "alice_c" in files["personal-data-ESL-000001.html"].decode()

    decide(app, approve, draft.id, actor="staff:li@esl.example")
    with Session(app.engine) as s:
        sent = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "reply-access")).one()
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "draft.approved")).one()
    msg = message_from_bytes(sent.raw, policy=policy.default)
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == draft.text
    assert sorted(plain(p.get_filename()) for p in msg.iter_attachments()) == sorted(files)
    assert msg["Auto-Submitted"] is None  # a person approved it
    assert event.actor == "staff:li@esl.example" and event.at == clock.now()
    with pytest.raises(DraftError, match="already approved"):
        decide(app, approve, draft.id, actor="staff:other@esl.example")


def test_edited_text_is_sent_exactly_and_rejection_needs_a_reason(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path))
    verified_request(flow, "Wrong phone", "My phone number is wrong, please change it to 13911112222.")
    (draft,) = drafts(flow.app)
    assert draft.kind == "correction" and "+8613911112222" in draft.text
    with pytest.raises(DraftError, match="reason"):
        decide(flow.app, reject, draft.id, actor="staff:a", reason=" ")
    edited = draft.text.replace("ESL Privacy Team", "Li Wei, ESL Privacy Team") + "\nP.S. done by hand.\n"
    decide(flow.app, approve, draft.id, actor="staff:a", text=edited)
    row = flow.outbox("reply-correction")[0]
    body = message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert body.replace("\r\n", "\n") == edited
    assert drafts(flow.app)[0].edited


def test_approved_deletion_runs_its_actions_once_and_notifies_third_parties(engine, clock, tmp_path, app_db):
    marker = tmp_path / "erased.txt"
    app = make_app(engine, clock, tmp_path, deletion={
        "url": app_db[0],
        "sql": ["DELETE FROM app_user WHERE id = :account_id"],
        "command": ["sh", "-c", f"echo {{account_id}} >> {marker}"],
        "third_parties": [{"name": "SMS gateway", "email": "privacy@sms.example"}]})
    flow = Flow(app)
    verified_request(flow, "Delete my account", "Please delete my account and all my data.")
    (draft,) = drafts(app)
    assert draft.kind == "deletion" and "SMS gateway" in draft.text and "backups" in draft.text
    decide(app, approve, draft.id, actor="staff:a")
    assert run_pending_actions(app.sessions, app.settings, app.clock) == 2
    assert run_pending_actions(app.sessions, app.settings, app.clock) == 0
    assert marker.read_text() == "A1\n"
    with app_db[1].connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT id FROM app_user"))] == ["A2"]
    with Session(app.engine) as s:
        assert {r.status for r in s.exec(select(ActionRun))} == {"done"}
    assert [r.to_address for r in flow.outbox("third-party-notice")] == ["privacy@sms.example"]


def test_nothing_substantive_for_an_unverified_ticket(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path))
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<u@x>"))
    assert drafts(flow.app) == []                 # challenged: no draft yet
    verified_request(flow, "Send me my data", "Please send me a copy of my personal data.", n=2)
    draft = drafts(flow.app)[0]
    with transaction(flow.app.sessions) as s:    # verification withdrawn before approval
        ticket = s.get(Ticket, draft.ticket_id)
        ticket.verification = "refused"
    with pytest.raises(NotVerified):
        decide(flow.app, approve, draft.id, actor="staff:a")


def test_other_needs_writing_and_reclassifying_starts_verification(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path))
    flow.send(mail("owner@example.org", "Question", "How do I change my avatar?", "<q@x>"))
    (draft,) = drafts(flow.app)
    assert draft.kind == "other" and "> How do I change my avatar?" in draft.text
    with pytest.raises(DraftError, match="write the reply"):
        decide(flow.app, approve, draft.id, actor="staff:a")
    with transaction(flow.app.sessions) as s:
        reclassify(s, s.get(Ticket, draft.ticket_id), "deletion", flow.app.pipeline, actor="staff:a")
    assert flow.ticket().verification == "challenged" and drafts(flow.app)[0].status == "superseded"
