"""Processors that confirm: notices carry a token, answers thread back and are read, silence is reminded."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.store.db import transaction
from bot.drafts.approve import approve
from bot.store.models import AuditEvent, Draft, InboundMessage, Ticket
from bot.store.processor_models import ProcessorNotice
from bot.drafts.notices import remind
from bot.sla.digest_mail import queue_digest
from tests.support import mailgen
from tests.support.pipeline_flow import TRUSTED_PASS, Flow, mail, make_app
from tests.unit.drafts.test_drafts import decide
from tests.support.refs import plain

PROCESSORS = [{"name": "SMS gateway", "email": "privacy@sms.example"},
              {"name": "Analytics", "email": "dpo@analytics.example"}]
DAY = timedelta(days=1)


@pytest.fixture
def app(engine, clock, tmp_path):
    return make_app(engine, clock, tmp_path, deletion={"third_parties": PROCESSORS},
                    staff={"reminders_to": ["team@esl.example"], "managers": ["boss@esl.example"]})


@pytest.fixture
def flow(app):
    return Flow(app)


def approved_deletion(app, flow) -> list[ProcessorNotice]:
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account and all my data.",
                   "<d1@x>", Authentication_Results=TRUSTED_PASS))
    with Session(app.engine) as s:
        draft = s.exec(select(Draft).where(Draft.status == "pending")).one()
    decide(app, approve, draft.id, actor="staff:li@esl.example")
    return notices(app)


def notices(app) -> list[ProcessorNotice]:
    with Session(app.engine) as s:
        return list(s.exec(select(ProcessorNotice).order_by(ProcessorNotice.id)))


def events(app, action: str) -> list[AuditEvent]:
    with Session(app.engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def sweep(app) -> list[str]:
    with transaction(app.sessions) as s:
        return remind(s, settings=app.settings, now=app.clock.now(), renderer=app.pipeline.renderer)


def test_each_notice_carries_its_own_token_and_message_id(app, flow):
    sms, analytics = approved_deletion(app, flow)
    sent = {o.id: o for o in flow.outbox("third-party-notice")}
    assert {sms.outbox_id, analytics.outbox_id} == set(sent) and sms.token != analytics.token
    assert sms.token in sent[sms.outbox_id].subject and "ESL-000001" in sent[sms.outbox_id].subject
    assert sent[sms.outbox_id].message_id == sms.message_id and sms.state == "waiting"


def test_answers_thread_by_message_id_or_token_and_are_read_in_both_languages(app, flow):
    sms, analytics = approved_deletion(app, flow)
    acks = len(flow.outbox("ack"))
    flow.send(mail("privacy@sms.example", "Re: deletion", "Hello,\nwe have deleted all data of this user.\n",
                   "<a1@sms>", In_Reply_To=sms.message_id))
    # No headers kept, only the token in the subject; another address of the same company.
    flow.send(mail("legal@analytics.example", f"回复：删除通知 ({analytics.token})", "您好，该用户数据已删除。",
                   "<a2@an>"))
    sms, analytics = notices(app)
    assert (sms.state, analytics.state) == ("confirmed", "confirmed")
    assert "已删除" in analytics.answer_text and sms.checked_by is None
    with Session(app.engine) as s:
        answers = s.exec(select(InboundMessage).where(InboundMessage.id.in_(
            [sms.answer_inbound_id, analytics.answer_inbound_id]))).all()
        assert {m.ticket_id for m in answers} == {1} and s.exec(select(Ticket)).all()[-1].id == 1
    assert len(flow.outbox("ack")) == acks and len(events(app, "processor.answered")) == 2


def test_out_of_office_and_bounces_never_confirm(app, flow):
    sms, analytics = approved_deletion(app, flow)
    flow.send(mail("privacy@sms.example", "Automatic reply: deletion", "I am out of the office until Monday. "
                   "Your data has been deleted? I will answer when back.", "<ooo@sms>",
                   In_Reply_To=sms.message_id, Auto_Submitted="auto-replied"))
    flow.send(mail("dpo@analytics.example", f"自动回复：({analytics.token})", "我正在休假，数据已删除的确认稍后回复。",
                   "<ooo@an>", X_Autoreply="yes"))
    bounce = mailgen.bounce(1).replace(b"mx.example.net>", b"sms.example>").replace(
        b"Returned to Sender", f"Returned to Sender ({sms.token})".encode()).replace(
        b"could not be delivered.", b"could not be delivered. The data was deleted?")
    flow.send(bounce)
    assert [n.state for n in notices(app)] == ["waiting", "waiting"]
    assert len(events(app, "processor.machine_reply")) == 3 and not events(app, "processor.answered")


def test_an_answer_with_only_the_ticket_reference_threads_by_the_processors_domain(app, flow):
    approved_deletion(app, flow)
    flow.send(mail("ops@sms.example", f"Re: [{flow.ticket().reference}] Deletion request",
                   "The user's data has been deleted.", "<bare@sms>"))
    assert [n.state for n in notices(app)] == ["confirmed", "waiting"]
    with Session(app.engine) as s:
        assert len(s.exec(select(Ticket)).all()) == 1   # no new ticket for the processor's mail


def test_an_answer_from_another_domain_is_not_taken(app, flow):
    sms, _ = approved_deletion(app, flow)
    flow.send(mail("someone@elsewhere.example", f"Re: ({sms.token})", "We have deleted it.", "<x@else>"))
    assert notices(app)[0].state == "waiting" and events(app, "processor.answer_from_elsewhere")


def test_refusals_and_questions_are_recorded_for_staff(app, flow):
    sms, analytics = approved_deletion(app, flow)
    flow.send(mail("privacy@sms.example", "Re", "We cannot delete the billing records: we must retain them.",
                   "<r@sms>", In_Reply_To=sms.message_id))
    flow.send(mail("dpo@analytics.example", "Re", "请提供该用户的注册手机号。", "<q@an>",
                   In_Reply_To=analytics.message_id))
    assert [n.state for n in notices(app)] == ["refused", "question"]


def test_silence_is_reminded_twice_then_escalated_and_an_answer_still_counts(app, flow, clock):
    sms, analytics = approved_deletion(app, flow)
    flow.send(mail("privacy@sms.example", "Re", "Deleted.", "<a1@sms>", In_Reply_To=sms.message_id))
    clock.advance(6 * DAY)
    assert sweep(app) == []
    clock.advance(DAY)
    assert plain(sweep(app)) == ["ESL-000001:Analytics:waiting"]
    (reminder,) = flow.outbox("processor-reminder")
    assert reminder.to_address == "dpo@analytics.example" and analytics.token in reminder.subject
    assert sweep(app) == []   # once per period
    clock.advance(7 * DAY)
    assert plain(sweep(app)) == ["ESL-000001:Analytics:waiting"]
    clock.advance(7 * DAY)
    assert plain(sweep(app)) == ["ESL-000001:Analytics:escalated"]
    assert sorted(o.to_address for o in flow.outbox("processor-escalation")) == ["boss@esl.example",
                                                                                "team@esl.example"]
    assert sweep(app) == [] and len(flow.outbox("processor-reminder")) == 2
    flow.send(mail("dpo@analytics.example", "Re: reminder", "Sorry for the delay, the data has been erased.",
                   "<late@an>", In_Reply_To=reminder.message_id, References=analytics.message_id))
    assert notices(app)[1].state == "confirmed"


def test_digest_lists_processors_not_confirmed(app, flow):
    sms, _ = approved_deletion(app, flow)
    flow.send(mail("privacy@sms.example", "Re", "We refuse.", "<a1@sms>", In_Reply_To=sms.message_id))
    with transaction(app.sessions) as s:
        (digest,) = queue_digest(s, settings=app.settings, now=app.clock.now(), renderer=app.pipeline.renderer)
    body = digest.raw.decode("utf-8", "replace")
    assert "confirmations outstanding (2)" in body and "SMS gateway" in body and "answer not checked" in body
