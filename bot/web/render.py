"""Page rendering: templates/web/*.html with the user, the CSRF token and messages filled in."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from bot.mail.render import TEMPLATES_DIR
from bot.web.queries import quarantine_count
from bot.web.security import bot_app, csrf_token, pop_flashes
from bot.web.undelivered import failed_count

STATIC_DIR = Path(__file__).resolve().parent / "static"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR / "web"))  # autoescaped


def due_class(days: int) -> str:
    """Red once overdue, amber with three days or fewer left, green otherwise."""
    return "due-over" if days < 0 else "due-soon" if days <= 3 else "due-ok"


def days_text(days: int) -> str:
    if days < 0:
        return f"{-days} day{'s' if days != -1 else ''} overdue"
    return "due today" if days == 0 else f"{days} day{'s' if days != 1 else ''} left"


def size_text(size: int | None) -> str:
    size = size or 0
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB" if size < 1024 ** 2 else f"{size / 1024 ** 2:.1f} MB"


def evidence(detail: dict) -> str:
    """An audit event's detail as "key: value" pairs, empty values left out, lists comma-separated."""
    def text(value: object) -> str:
        return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return " · ".join(f"{k}: {text(v)}" for k, v in detail.items() if v not in (None, "", [], {}))


templates.env.filters.update(due_class=due_class, days_text=days_text, size=size_text, evidence=evidence)


def _menu_counts(app) -> dict[str, int]:
    """For the counts in every page's menu: staff must not miss undelivered mail or quarantined messages."""
    with app.sessions() as session:
        return {"failed_mail": failed_count(session), "quarantined": quarantine_count(session)}


def render(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    app = bot_app(request)
    zone = ZoneInfo(app.settings.sla.timezone)

    def local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(zone).strftime(fmt) if moment else ""

    user = getattr(request.state, "user", None)
    context = {"user": user, "csrf_token": csrf_token(request), "flashes": pop_flashes(request), "local": local,
               "zone": app.settings.sla.timezone, **(_menu_counts(app) if user else {}), **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)
