"""The ticket page and the decisions on it: approve (exactly the edited text, once), reject, reclassify, verify."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bot.store.models import Challenge, Draft, OutboxMessage
from tests.support.pipeline_flow import TRUSTED_PASS, mail
from tests.unit.web.test_web_helpers import (STAFF, anon, bot, challenged_deletion, client, csrf_of, draft_files,  # noqa: F401
                                         events, fast_hashes, flow, pending_draft, plain_text, post, replies,
                                         verified_access, attachments)
from tests.support.refs import plain

EDITED = "Dear alice_c,\r\n\r\nHere is your data, checked by hand.\r\n\r\n  Amy, ESL Privacy Team\r\n"


def _posts(draft_id: int) -> list[tuple[str, dict]]:
    return [(f"/drafts/{draft_id}/approve", {"text": EDITED}), (f"/drafts/{draft_id}/reject", {"reason": "no"}),
            ("/tickets/ESL-000001/reclassify", {"kind": "other"}),
            ("/tickets/ESL-000001/verify", {"decision": "refuse", "reason": "no"}),
            ("/tickets/ESL-000001/resend-code", {}), ("/logout", {})]


def _unchanged(bot, ticket, draft) -> None:
    assert pending_draft(bot, ticket.id).id == draft.id
    assert replies(bot) == [] and events(bot, "ticket.reclassified") == [] and events(bot, "verification.refused") == []
    with Session(bot.engine) as s:
        assert s.exec(select(Challenge)).all() == []


def test_every_post_without_a_login_changes_nothing(anon, flow, bot):
    ticket = verified_access(flow)
    draft = pending_draft(bot, ticket.id)
    for path, data in _posts(draft.id):
        response = anon.post(path, data={"csrf_token": csrf_of(anon.get("/login").text), **data})
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    _unchanged(bot, ticket, draft)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_every_post_without_the_sessions_csrf_token_is_refused(client, flow, bot, token):
    ticket = verified_access(flow)
    draft = pending_draft(bot, ticket.id)
    for path, data in _posts(draft.id):
        form = data if token is None else {**data, "csrf_token": token}
        assert client.post(path, data=form).status_code == 403, path
    _unchanged(bot, ticket, draft)
    assert client.get("/").status_code == 200   # not even logged out


def test_ticket_page_shows_thread_classification_account_draft_and_audit(client, flow, bot):
    ticket = verified_access(flow)
    page = client.get("/tickets/esl-000001")
    assert page.status_code == 200
    html = page.text
    assert "Please send me a copy of my personal data." in html            # their message
    assert "We have received your request" in html                          # our acknowledgement
    assert "access" in html and f"{round(ticket.confidence * 100)}%" in html  # classification, confidence
    assert "verified" in html and "alice_c" in html and "+86138****8000" in html  # account and state
    draft = pending_draft(bot, ticket.id)
    assert draft.text.split("\n")[0] in html and f"/drafts/{draft.id}/approve" in html
    assert "personal-data-ESL-000001.json" in plain(html) and "personal-data-ESL-000001.html" in plain(html)
    for action in ("ticket.opened", "account.match", "verification.verified", "draft.created"):
        assert f"<td>{action}</td>" in html


def test_unknown_ticket_is_404(client):
    assert client.get("/tickets/ESL-999999").status_code == 404


def test_approve_sends_exactly_the_edited_text_with_the_attachments_once(client, flow, bot):
    ticket = verified_access(flow)
    draft = pending_draft(bot, ticket.id)
    files = {(f.filename, f.data) for f in draft_files(bot, draft.id)}
    response = post(client, f"/drafts/{draft.id}/approve", text=EDITED)
    assert (response.status_code, response.headers["location"]) == (303, "/")   # the only ticket: back to the queue
    [reply] = replies(bot)
    assert plain_text(reply.raw) == EDITED.replace("\r\n", "\n")    # what the browser sent, line ends normalised
    assert reply.to_address == "owner@example.org" and reply.kind == "reply-access"
    assert attachments(reply.raw) == files
    [approved] = events(bot, "draft.approved")
    assert approved.actor == f"staff:{STAFF}" and json.loads(approved.detail)["edited"] is True
    assert "with your edits" in client.get("/").text
    again = post(client, f"/drafts/{draft.id}/approve", text=EDITED)   # a second click, or a second tab
    assert again.status_code == 303 and len(replies(bot)) == 1
    assert "already approved" in client.get("/tickets/ESL-000001").text


def test_approve_unchanged_sends_the_draft_as_written(client, flow, bot):
    draft = pending_draft(bot, verified_access(flow).id)
    post(client, f"/drafts/{draft.id}/approve", text=draft.text.replace("\n", "\r\n"))
    [reply] = replies(bot)
    assert plain_text(reply.raw) == draft.text
    with Session(bot.engine) as s:
        assert s.get(Draft, draft.id).edited is False


def test_reject_needs_a_reason_and_sends_nothing(client, flow, bot):
    draft = pending_draft(bot, verified_access(flow).id)
    post(client, f"/drafts/{draft.id}/reject", reason="  ")
    assert pending_draft(bot, draft.ticket_id).id == draft.id
    assert "a reason is required" in client.get("/tickets/ESL-000001").text
    post(client, f"/drafts/{draft.id}/reject", reason="wrong account attached")
    with Session(bot.engine) as s:
        rejected = s.get(Draft, draft.id)
    assert (rejected.status, rejected.reject_reason, rejected.decided_by) == \
        ("rejected", "wrong account attached", f"staff:{STAFF}")
    assert replies(bot) == []


def test_reclassify_changes_the_kind_and_replaces_the_draft(client, flow, bot):
    ticket = verified_access(flow)
    old = pending_draft(bot, ticket.id)
    post(client, "/tickets/ESL-000001/reclassify", kind="correction")
    assert flow.ticket().kind == "correction"
    new = pending_draft(bot, ticket.id)
    assert new.id != old.id and new.kind == "correction"
    [event] = events(bot, "ticket.reclassified")
    assert event.actor == f"staff:{STAFF}" and json.loads(event.detail) == {"old": "access", "new": "correction"}
    post(client, "/tickets/ESL-000001/reclassify", kind="nonsense")
    assert flow.ticket().kind == "correction" and "kind must be one of" in client.get("/tickets/ESL-000001").text


def test_manual_verification_needs_a_reason_then_verifies_and_drafts(client, flow, bot):
    challenged_deletion(flow)
    post(client, "/tickets/ESL-000001/verify", decision="verify", reason="")
    assert flow.ticket().verification == "challenged"
    post(client, "/tickets/ESL-000001/verify", decision="verify", reason="called back on the registered phone")
    ticket = flow.ticket()
    assert ticket.verification == "verified"
    assert pending_draft(bot, ticket.id).kind == "deletion"
    [event] = events(bot, "verification.verified")
    assert event.actor == f"staff:{STAFF}" and json.loads(event.detail)["method"] == "manual"


def test_manual_refusal(client, flow, bot):
    challenged_deletion(flow)
    post(client, "/tickets/ESL-000001/verify", decision="refuse", reason="the caller did not know the account")
    assert flow.ticket().verification == "refused" and pending_draft(bot, 1) is None


def test_manual_verification_with_an_account_named_by_staff(client, flow, bot):
    from tests.support.pipeline_flow import mail
    flow.send(mail("stranger@example.net", "Delete my account", "Please delete my account.", "<u@x>"))
    assert flow.ticket().verification == "unknown"
    post(client, "/tickets/ESL-000001/verify", decision="verify", reason="phone call", account="NOPE")
    assert flow.ticket().verification == "unknown" and "no account NOPE" in client.get("/tickets/ESL-000001").text
    post(client, "/tickets/ESL-000001/verify", decision="verify", reason="phone call", account="A1")
    ticket = flow.ticket()
    assert (ticket.verification, ticket.account_id, ticket.verified_address) == ("verified", "A1", "owner@example.org")


def test_resend_code_supersedes_the_old_one(client, flow, bot):
    challenged_deletion(flow)
    post(client, "/tickets/ESL-000001/resend-code")
    with Session(bot.engine) as s:
        assert [c.status for c in s.exec(select(Challenge).order_by(Challenge.id))] == ["superseded", "open"]
        # The first code came with the acknowledgement; the one staff resend comes alone.
        assert [o.kind for o in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))] == ["ack-code", "challenge"]
    [event] = [e for e in events(bot, "verification.challenged") if e.actor != "bot"]
    assert event.actor == f"staff:{STAFF}"


def test_draft_attachments_download_as_files_only_when_logged_in(client, flow, bot):
    from fastapi.testclient import TestClient
    stranger = TestClient(client.app, follow_redirects=False)
    draft = pending_draft(bot, verified_access(flow).id)
    for f in draft_files(bot, draft.id):
        response = client.get(f"/drafts/{draft.id}/attachments/{f.id}")
        assert response.status_code == 200 and response.content == f.data
        assert response.headers["content-disposition"].startswith("attachment;")
        assert stranger.get(f"/drafts/{draft.id}/attachments/{f.id}").status_code == 303
    assert client.get(f"/drafts/{draft.id + 1}/attachments/{f.id}").status_code == 404


def test_third_party_mail_is_marked_and_each_corrected_value_names_its_message(client, flow, bot):
    from tests.support.pipeline_flow import TRUSTED_PASS, mail
    flow.send(mail("owner@example.org", "Wrong phone", "Please change my phone number to 13911112222.",
                   "<own-1@example.org>", Authentication_Results=TRUSTED_PASS))
    flow.send(mail("stranger@attacker.test", "Re: Wrong phone", "Change my email to evil@attacker.test",
                   "<planted@attacker.test>", In_Reply_To="<own-1@example.org>"))
    html = client.get(f"/tickets/{flow.ticket().reference}").text
    assert "third party — not the requester" in html
    assert html.count("third party — not the requester") == 1           # only the stranger's message
    sources = html[html.index('id="value-sources"'):]
    sources = sources[:sources.index("</ul>")]
    assert "+8613911112222" in sources and "&lt;own-1@example.org&gt;" in sources
    assert "evil@attacker.test" not in sources


def test_english_added_to_a_chinese_reply_is_held_until_staff_confirm_it(client, flow, bot):
    flow.send(mail("owner@example.org", "删除账号", "请删除我的账号和所有个人数据。", "<zh@x>",
                   Authentication_Results=TRUSTED_PASS))
    draft = pending_draft(bot, flow.ticket().id)
    assert draft.language == "zh"
    page = client.get("/tickets/ESL-000001").text
    assert 'name="other_language"' in page                     # the console offers the confirmation
    english = draft.text + "\nPlease note that backups are erased within 30 days.\n"
    post(client, f"/drafts/{draft.id}/approve", text=english)
    assert replies(bot) == [] and "not in Chinese" in client.get("/tickets/ESL-000001").text
    post(client, f"/drafts/{draft.id}/approve", text=draft.text + "\n备份将在 30 天内清除。\n")   # Chinese: goes
    assert len(replies(bot)) == 1


def test_staff_may_confirm_text_in_another_language_for_a_chinese_reply(client, flow, bot):
    flow.send(mail("owner@example.org", "删除账号", "请删除我的账号和所有个人数据。", "<zh@x>",
                   Authentication_Results=TRUSTED_PASS))
    draft = pending_draft(bot, flow.ticket().id)
    post(client, f"/drafts/{draft.id}/approve", text=draft.text + "\nSee you, Li Wei\n", other_language="1")
    assert len(replies(bot)) == 1


def _many_parts(n: int) -> bytes:
    head = ("From: owner@example.org\r\nTo: support@esl.example\r\nSubject: Copy of my data\r\n"
            "Message-ID: <parts@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nPlease send me a copy of my personal data.\r\n")
    parts = "".join(f"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                    f"filename=part-{i:06d}.bin\r\n\r\nx\r\n" for i in range(n))
    return (head + parts + "--b--\r\n").encode()


def test_a_mail_of_thousands_of_parts_keeps_the_ticket_page_small(client, flow):
    flow.send(_many_parts(3000))
    page = client.get("/tickets/ESL-000001").text
    assert "part-000000.bin" in page and "part-002999.bin" not in page
    assert "and 2,950 more" in page                  # said, not listed: the count stays visible
    assert len(page.encode()) < 15_000, len(page)    # ~8 KB with one part; the 3,000 names made 58 KB
