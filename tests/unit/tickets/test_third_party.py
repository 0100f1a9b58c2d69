"""Only the requester can change their request: third parties on a thread never feed drafts, details or codes."""
from __future__ import annotations

from sqlmodel import Session, select

from bot.store.models import Draft, InboundMessage, Ticket
from tests.support.pipeline_flow import TRUSTED_PASS, mail

CORRECTION = ("Wrong phone", "My phone number is wrong, please change it to 13911112222.")
PLANT = "Please change my email to evil@attacker.test and my phone to 13055556666."


def _drafts(flow) -> list[Draft]:
    with Session(flow.app.engine) as s:
        return list(s.exec(select(Draft).order_by(Draft.id)))


def _inbound(flow) -> list[InboundMessage]:
    with Session(flow.app.engine) as s:
        return list(s.exec(select(InboundMessage).order_by(InboundMessage.id)))


def _challenged_correction(flow):
    flow.send(mail("owner@example.org", *CORRECTION, "<c1@example.org>"))
    assert flow.ticket().verification == "challenged"
    return flow.ticket().reference


def test_a_stranger_joining_by_in_reply_to_is_a_third_party_and_feeds_no_draft(flow):
    reference = _challenged_correction(flow)
    flow.send(mail("stranger@attacker.test", f"Re: [{reference}] more", PLANT, "<s1@attacker.test>",
                   In_Reply_To="<c1@example.org>"))
    code, our_id, _ = flow.code_and_id()
    flow.send(mail("owner@example.org", f"Re: [{reference}] code", f"It was me: {code}", "<c2@example.org>",
                   In_Reply_To=our_id))
    assert flow.ticket().verification == "verified"
    [draft] = _drafts(flow)
    assert "+8613911112222" in draft.text
    assert "evil@attacker.test" not in draft.text and "13055556666" not in draft.text
    parties = {m.sender: m.party for m in _inbound(flow)}
    assert parties["stranger@attacker.test"] == "third-party"
    assert all(m.ticket_id == 1 for m in _inbound(flow))   # stored on the ticket, for staff to see


def test_a_third_party_code_is_not_tried_even_when_it_is_right(flow):
    reference = _challenged_correction(flow)
    code, our_id, _ = flow.code_and_id()
    flow.send(mail("stranger@attacker.test", f"Re: [{reference}]", code, "<s2@attacker.test>", In_Reply_To=our_id))
    assert flow.ticket().verification == "challenged"
    assert "verification.code_rejected" not in flow.actions()


def test_a_forged_from_with_a_subject_reference_alone_does_not_feed_the_draft(flow):
    reference = _challenged_correction(flow)
    code, our_id, _ = flow.code_and_id()   # the code of the requester's own ticket
    flow.send(mail("Owner <owner@example.org>", f"Re: [{reference}] update", PLANT, "<f1@attacker.test>"))
    [forged] = [m for m in _inbound(flow) if m.message_id == "<f1@attacker.test>"]
    # Not joined by its subject: a ticket of its own, or at most linked as the same request, and then
    # only as unproven (which depends on how sure the classifier is of both mails).
    assert forged.ticket_id != 1 or forged.party != "requester"
    flow.send(mail("owner@example.org", "Re: code", code, "<c2@example.org>", In_Reply_To=our_id))
    [draft] = _drafts(flow)
    assert "+8613911112222" in draft.text and "evil@attacker.test" not in draft.text


def test_a_subject_reference_from_the_authenticated_requester_joins(flow):
    reference = _challenged_correction(flow)
    flow.send(mail("owner@example.org", f"Re: [{reference}] also", "And my nickname to alice_x please.",
                   "<c3@example.org>", Authentication_Results=TRUSTED_PASS))
    [joined] = [m for m in _inbound(flow) if m.message_id == "<c3@example.org>"]
    assert (joined.ticket_id, joined.party) == (1, "requester")


def test_each_correction_value_names_the_message_it_came_from(flow):
    from bot.drafts.correction import correction_sources
    _challenged_correction(flow)
    code, our_id, _ = flow.code_and_id()
    flow.send(mail("owner@example.org", "Re: code", f"{code} and please change my nickname to alice_x",
                   "<c2@example.org>", In_Reply_To=our_id))
    with Session(flow.app.engine) as s:
        found = {c["field"]: c for c in correction_sources(s, s.get(Ticket, 1))}
    assert found["phone"]["new_value"] == "+8613911112222" and found["phone"]["message_id"] == "<c1@example.org>"
    assert found["nickname"]["new_value"] == "alice_x" and found["nickname"]["message_id"] == "<c2@example.org>"


def test_new_references_carry_random_check_letters_and_the_number_alone_does_not_join(flow):
    from bot.tickets.opening import CHECK_ALPHABET, format_reference
    assert len({format_reference("ESL", 1) for _ in range(50)}) > 40             # not guessable from the number
    assert all(c in CHECK_ALPHABET for c in format_reference("ESL", 1)[-3:])
    reference = _challenged_correction(flow)
    number, check = reference.rsplit("-", 1)
    assert number == "ESL-000001" and len(check) == 3
    from bot.mail.parse import parse_message
    from bot.tickets.threads import find_thread
    with Session(flow.app.engine) as s:
        for subject, joins in ((f"Re: [{number}] also", False), (f"Re: [{reference}] also", True),
                               (f"Re: [{reference.lower()}] also", True)):
            raw = mail("owner@example.org", subject, "Hello.", "<c4@example.org>", Authentication_Results=TRUSTED_PASS)
            assert (find_thread(s, parse_message(raw), flow.app.settings) is not None) is joins, subject


def test_a_reference_from_before_check_letters_keeps_working(flow):
    flow.send(mail("owner@example.org", *CORRECTION, "<c1@example.org>"))
    with Session(flow.app.engine) as s:
        ticket = s.get(Ticket, 1)
        ticket.reference = "ESL-000001"          # as references were written before
        s.add(ticket)
        s.commit()
    flow.send(mail("owner@example.org", "Re: [ESL-000001] also", "And my nickname to alice_x please.",
                   "<c5@example.org>", Authentication_Results=TRUSTED_PASS))
    assert [(m.ticket_id, m.party) for m in _inbound(flow) if m.message_id == "<c5@example.org>"] == [(1, "requester")]
