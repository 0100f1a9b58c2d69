"""In Chromium: log in, open the most urgent ticket, edit and approve its draft; the requester gets exactly that, once."""
from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from bot.store.accounts.embedded import import_accounts, read_account_file
from bot.service.app import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.store.db import transaction
from bot.store.models import AuditEvent, Draft, DraftAttachment
from bot.mail.sms import LoggingSmsSender
from bot.web.auth import add_user
from bot.web.serve import serve_web
from bot.config.web import WebSettings
from tests.support.refs import plain
from tests.integration.conftest import of_kind
from tests.support.chromium import LAUNCH_ARGS, chromium_or_skip
from tests.support.pipeline_flow import ACCOUNTS, TRUSTED_PASS, Flow, mail

pytestmark = pytest.mark.integration
STAFF, PASSWORD = "amy@esl.example", "correct horse battery staple"
SHOTS = {"queue": "/tmp/supportbot-web-queue.png", "ticket": "/tmp/supportbot-web-ticket.png",
         "approved": "/tmp/supportbot-web-approved.png"}


class ConsoleServer:
    """serve_web on 127.0.0.1, port 0, in its own thread and event loop."""

    def __init__(self, app) -> None:
        self.app, self.port, self.ready = app, 0, threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        await serve_web(self.app, self.stop, web=WebSettings(port=0), ready=self._ready)

    def _ready(self, port: int) -> None:
        self.port = port
        self.ready.set()

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(30), "the console did not start"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)


@pytest.fixture
def bot(tmp_path, smtp):
    clock = FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc))
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'bot.store.db'}"},
                        smtp={"host": smtp.host, "port": smtp.port, "security": "none",
                              "from_address": "support@esl.example"},
                        verification={"trusted_authserv_ids": ["mx.esl.example"]})
    app = build_app(settings, clock=clock, sms=LoggingSmsSender())
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS)
    with transaction(app.sessions) as session:
        import_accounts(session, read_account_file(accounts))
        add_user(session, STAFF, PASSWORD, role="staff", now=clock.now(), min_length=12)
    flow = Flow(app)
    # The verified access request arrives first, so it falls due first (by now a day overdue);
    # a correction four days later (three days left), and a Chinese deletion request today.
    flow.send(mail("owner@example.org", "Send me my data", "Please send me a copy of my personal data.", "<a@x>",
                   Authentication_Results=TRUSTED_PASS))
    clock.advance(timedelta(days=4))
    flow.send(mail("someone@example.net", "Wrong phone number", "Please correct my phone number to 13912345678.",
                   "<c@x>"))
    clock.advance(timedelta(days=12))
    flow.send(mail("li.wei@example.cn", "删除我的账号", "你好，请删除我的账号和所有个人信息。谢谢！", "<b@x>"))
    asyncio.run(app.drain_outbox())   # the acknowledgements
    return app


def test_staff_member_edits_and_approves_in_the_browser(bot, smtp):
    chromium = chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright
    with Session(bot.engine) as s:
        draft = s.exec(select(Draft).where(Draft.status == "pending")).one()
        files = {f.filename: f.data for f in s.exec(select(DraftAttachment).where(DraftAttachment.draft_id == draft.id))}
    edited = draft.text.replace("Hello alice_c,", "Dear Alice,", 1) + "\nChecked by hand: Amy, ESL Privacy Team.\n"
    assert edited != draft.text

    with ConsoleServer(bot) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(base + "/")
        expect(page).to_have_url(f"{base}/login?next=%2F")
        page.fill("#email", STAFF)
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Log in')")
        expect(page.locator("h1")).to_have_text("Queue")
        expect(page.locator("table.queue tbody tr").first).to_contain_text("1 day overdue")
        page.screenshot(path=SHOTS["queue"], full_page=True)

        page.locator("table.queue tbody tr").first.locator("a").first.click()   # the most urgent
        expect(page).to_have_url(re.compile(re.escape(base) + r"/tickets/ESL-000001-[0-9A-Z]{3}$"))
        page.fill("#draft-text", edited)
        page.screenshot(path=SHOTS["ticket"], full_page=True)
        page.click("button:has-text('Approve and send')")
        expect(page.locator(".flash.ok")).to_contain_text("Approved with your edits")
        audit_row = page.locator("#audit tr", has_text="draft.approved")
        expect(audit_row).to_contain_text(f"staff:{STAFF}")
        expect(audit_row).to_contain_text("2026-12-10 10:00:00")     # when, in Asia/Shanghai
        page.screenshot(path=SHOTS["approved"], full_page=True)
        browser.close()

    for _ in range(2):   # a second run of the sender must not send it again
        asyncio.run(bot.drain_outbox())
    replies = [m for m in smtp.received if (m.message["X-Supportbot-Kind"] or "").startswith("reply")]
    assert len(replies) == 1 and replies == of_kind(smtp.received, "reply-access")
    [reply] = replies
    message = reply.message
    assert reply.recipients == ["owner@example.org"]
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == edited
    sent_files = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert sent_files == files and set(plain(list(files))) == {"personal-data-ESL-000001.json", "personal-data-ESL-000001.html"}
    export = json.loads(plain(files)["personal-data-ESL-000001.json"])
    assert export["profile"]["account_id"] == "A1" and export["profile"]["nickname"] == "alice_c"
    with Session(bot.engine) as s:
        [approved] = s.exec(select(AuditEvent).where(AuditEvent.action == "draft.approved")).all()
    assert approved.actor == f"staff:{STAFF}" and approved.at == bot.clock.now()
    assert json.loads(approved.detail)["edited"] is True
