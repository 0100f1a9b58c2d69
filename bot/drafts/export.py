"""The access export: the account's profile and extra read-only query results, as JSON and as HTML."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal

from jinja2 import Environment, select_autoescape
from sqlalchemy import create_engine, text

from bot.store.accounts import Account
from bot.config import Settings

_HTML = Environment(autoescape=select_autoescape(default=True)).from_string("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;margin:0 0 1.5em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}</style></head><body>
<h1>{{ title }}</h1><p>{{ reference }} · {{ generated }}</p>
<h2>{{ profile_title }}</h2><table>{% for k, v in profile.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
{% for name, rows in extra.items() %}<h2>{{ name }}</h2>
{% if rows %}<table><tr>{% for k in rows[0] %}<th>{{ k }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for v in row.values() %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>
{% else %}<p>—</p>{% endif %}{% endfor %}</body></html>""")


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def extra_data(settings: Settings, account_id: str) -> dict[str, list[dict]]:
    """Each configured query's rows; read-only (rolled back, and READ ONLY on PostgreSQL)."""
    queries = settings.export.queries
    url = settings.export.url or (settings.accounts.url if settings.accounts.source == "sql" else "")
    if not queries or not url:
        return {}
    engine = create_engine(url)
    out: dict[str, list[dict]] = {}
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION READ ONLY"))
            for name, sql in queries.items():
                rows = conn.execute(text(sql), {"account_id": account_id}).mappings().all()
                out[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
            conn.rollback()
    finally:
        engine.dispose()
    return out


def build_export(account: Account, extra: dict[str, list[dict]], *, reference: str, generated: str,
                 language: str) -> list[tuple[str, str, bytes]]:
    """Attachments for the access draft: (filename, content type, bytes)."""
    profile = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(account).items()}
    data = {"reference": reference, "generated": generated, "profile": profile, **extra}
    zh = language == "zh"
    html = _HTML.render(lang="zh" if zh else "en", reference=reference, generated=generated, profile=profile,
                        extra=extra, title="您的个人信息副本" if zh else "Your personal information",
                        profile_title="账号资料" if zh else "Account profile")
    base = f"personal-data-{reference}"
    return [(f"{base}.json", "application/json", json.dumps(data, ensure_ascii=False, indent=2).encode()),
            (f"{base}.html", "text/html", html.encode())]
