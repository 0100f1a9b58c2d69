"""The console in Chinese or English, per staff member (default [web] language), from Babel catalogues."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlmodel import Session

from bot.store.models import StaffUser
from bot.web.app import create_web_app
from bot.web.i18n import CATALOGUES
from bot.config.web import WebSettings
from tests.unit.web.test_web_helpers import STAFF, anon, bot, client, fast_hashes, flow, login, post, verified_access  # noqa: F401

ROOT = Path(__file__).resolve().parents[3]


def test_every_console_text_has_a_chinese_translation():
    with (CATALOGUES / "babel.cfg").open() as cfg:
        methods, options = parse_mapping_cfg(cfg)
    wanted = {message for _, _, message, _, _ in extract_from_dir(ROOT, methods, options, keywords={
        "_": None, "gettext": None, "ngettext": (1, 2), "N_": None})}
    with (CATALOGUES / "zh" / "LC_MESSAGES" / "console.po").open("rb") as po:
        catalog = read_po(po)
    untranslated = [m for m in wanted if not (catalog.get(m[0] if isinstance(m, tuple) else m)
                                              and catalog.get(m[0] if isinstance(m, tuple) else m).string)]
    assert len(wanted) > 150 and untranslated == []


def test_each_staff_member_chooses_their_language(client, bot, flow):
    verified_access(flow)
    assert "Queue" in client.get("/").text and "工单队列" not in client.get("/").text   # [web] language: en
    assert post(client, "/me/language", language="zh").status_code == 303
    with Session(bot.engine) as s:
        assert s.get(StaffUser, 1).language == "zh"
    queue = client.get("/").text
    assert '<html lang="zh-CN">' in queue and "工单队列" in queue and "最紧急的在前" in queue
    ticket = client.get("/tickets/ESL-000001").text
    assert "批准并发送" in ticket and "审计记录" in ticket and "查阅数据" in ticket and "Approve and send" not in ticket
    post(client, "/tickets/ESL-000001/assign", assignee=STAFF)
    assert f"已指派给 {STAFF}。" in client.get("/tickets/ESL-000001").text      # what was done, in their language
    assert post(client, "/me/language", language="fr").status_code == 422


def test_the_default_language_comes_from_web_settings(bot):
    with TestClient(create_web_app(bot, WebSettings(language="zh")), follow_redirects=False) as chinese:
        assert "员工控制台" in chinese.get("/login").text
        login(chinese)
        assert "工单队列" in chinese.get("/").text
        with Session(bot.engine) as s:
            s.get(StaffUser, 1).language = "en"
            s.commit()
        assert "Queue" in chinese.get("/").text      # their own choice wins
