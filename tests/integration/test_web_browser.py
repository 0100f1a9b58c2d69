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
from bot.mail.render import MailRenderer
from bot.sla.digest_mail import build_digest
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
         "approved": "/tmp/supportbot-web-approved.png", "phone-zh": "/tmp/supportbot-web-phone-zh.png",
         "digest": "/tmp/supportbot-digest.png"}


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


def fits(page, width: int) -> None:
    """Nothing wider than the window, and every ticket reference on one line."""
    wide = page.evaluate("""w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w)
                                  .slice(0, 5).map(e => e.tagName + '.' + e.className)""", width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, (page.url, wide)
    for lines in page.locator(".ref").evaluate_all("els => els.map(e => e.getClientRects().length)"):
        assert lines == 1, page.url


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

        page.fill("input[name=q]", "li.wei")                        # part of an address
        page.press("input[name=q]", "Enter")
        expect(page.locator("table.queue tbody tr")).to_have_count(1)
        expect(page.locator("table.queue tbody tr")).to_contain_text("ESL-000003")
        expect(page.locator(".active-filters")).to_contain_text("li.wei")
        page.goto(base + "/")
        page.click("a[data-flag=draft]")                             # show only: draft ready
        expect(page.locator("table.queue tbody tr")).to_have_count(1)
        expect(page.locator("table.queue tbody tr")).to_contain_text("ESL-000001")

        page.locator("table.queue tbody tr").first.locator("a").first.click()   # the most urgent
        expect(page).to_have_url(re.compile(re.escape(base) + r"/tickets/ESL-000001-[0-9A-Z]{3}$"))
        expect(page.locator("#match")).not_to_contain_text("False")
        page.select_option("#assign select", STAFF)
        page.click("#assign button")
        expect(page.locator("#assignee")).to_have_text(STAFF)
        page.fill("#draft-text", edited)
        page.screenshot(path=SHOTS["ticket"])   # the top: draft, request, account
        page.click("#approve")
        expect(page).to_have_url(re.compile(re.escape(base) + r"/tickets/ESL-000002-[0-9A-Z]{3}$"))   # on to the next
        expect(page.locator(".flash.ok")).to_contain_text("Approved with your edits")
        page.fill("#lookup input[name=find]", "bobby")              # manual verification: which account?
        page.click("#lookup button")
        expect(page.locator("#account option[value=A2]")).to_have_count(1)
        expect(page.locator(".found")).not_to_contain_text("13900139000")   # the phone stays masked
        page.goto(base + "/tickets/ESL-000001")
        audit_row = page.locator("#audit tr", has_text="draft.approved")
        expect(audit_row).to_contain_text(f"staff:{STAFF}")
        expect(audit_row).to_contain_text("2026-12-10 10:00:00")     # when, in Asia/Shanghai
        page.screenshot(path=SHOTS["approved"], full_page=True)
        page.goto(base + "/?only=mine&status=all")   # answered by now
        expect(page.locator("table.queue tbody tr")).to_contain_text(STAFF)

        for language, queue_title, ticket_word in (("en", "Queue", "Audit trail"), ("zh", "工单队列", "审计记录")):
            page.select_option(".language select", language)
            page.click(".language button")
            page.goto(base + "/")
            expect(page.locator("h1")).to_have_text(queue_title)
            for width in (1400, 390):
                page.set_viewport_size({"width": width, "height": 844})
                for path in ("/", "/tickets/ESL-000002", "/tickets/ESL-000001", "/mail/failed", "/quarantine"):
                    page.goto(base + path)
                    fits(page, width)
                expect(page.locator(".topbar")).to_be_visible()
            page.goto(base + "/tickets/ESL-000003")
            expect(page.locator("#audit h2")).to_have_text(ticket_word)
            if language == "zh":
                page.goto(base + "/")
                page.screenshot(path=SHOTS["phone-zh"], full_page=True)
            page.set_viewport_size({"width": 1400, "height": 900})

        # The managers' digest as a mail client shows it: links to the console, nothing fetched from elsewhere.
        settings = bot.settings.model_copy(update={"web": WebSettings(public_url=base)})
        with bot.sessions() as session:
            digest = build_digest(session, settings, bot.clock.now(), MailRenderer())
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.set_content(digest.html)
        expect(page.locator("h2", has_text="Open by kind and who they wait on")).to_be_visible()
        page.locator(f'a[href^="{base}/tickets/ESL-000003"]').first.click()
        expect(page).to_have_url(re.compile(re.escape(base) + r"/tickets/ESL-000003-[0-9A-Z]{3}$"))
        assert [url for url in requests if not url.startswith(base)] == []
        mail_client = browser.new_page(viewport={"width": 900, "height": 900})   # not under the console's CSP
        mail_client.set_content(digest.html)
        mail_client.screenshot(path=SHOTS["digest"], full_page=True)
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
