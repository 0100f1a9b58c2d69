"""Page rendering: templates/web/*.html in the staff member's language, with the CSRF token and messages."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from starlette.responses import HTMLResponse

from bot.web import i18n
from bot.web.queries import quarantine_count
from bot.store.sla_models import DONE_STATUSES
from bot.web.readable import evidence, kind_name, status_name
from bot.web.security import bot_app, csrf_token, pop_flashes
from bot.web.undelivered import failed_count

STATIC_DIR = Path(__file__).resolve().parent / "static"


def due_class(days: int) -> str:
    """Red once overdue, amber with three days or fewer left, green otherwise."""
    return "due-over" if days < 0 else "due-soon" if days <= 3 else "due-ok"


def days_text(days: int, words) -> str:
    """`words`: the staff member's translations."""
    if days < 0:
        return words.ngettext("%(num)d day overdue", "%(num)d days overdue", -days) % {"num": -days}
    if days == 0:
        return words.gettext("due today")
    return words.ngettext("%(num)d day left", "%(num)d days left", days) % {"num": days}


def size_text(size: int | None) -> str:
    size = size or 0
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB" if size < 1024 ** 2 else f"{size / 1024 ** 2:.1f} MB"


def language_of(request: Request) -> str:
    """The staff member's own choice, else [web] language; English on the login page."""
    user = getattr(request.state, "user", None)
    return (user.language if user and user.language else None) or request.app.state.web.language


def _menu_counts(app) -> dict[str, int]:
    """For the counts in every page's menu: staff must not miss undelivered mail or quarantined messages."""
    with app.sessions() as session:
        return {"failed_mail": failed_count(session), "quarantined": quarantine_count(session)}


def render(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    app = bot_app(request)
    zone = ZoneInfo(app.settings.sla.timezone)
    language = language_of(request)
    translated = i18n.translations(language)

    def local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(zone).strftime(fmt) if moment else ""

    user = getattr(request.state, "user", None)
    flashes = [(level, prefix + (translated.gettext(text) % values if values else translated.gettext(text)))
               for level, text, values, prefix in (entry + [{}, ""][len(entry) - 2:] for entry in pop_flashes(request))]
    context = {"user": user, "csrf_token": csrf_token(request), "flashes": flashes, "local": local,
               "zone": app.settings.sla.timezone, "lang": language, "languages": i18n.LANGUAGES,
               "evidence": lambda detail: evidence(detail, zone, translated.gettext),
               "kind_name": lambda kind: kind_name(kind, translated.gettext),
               "status_name": lambda status: status_name(status, translated.gettext),
               "on_the_clock": lambda status: status not in DONE_STATUSES,
               "days_text": lambda days: days_text(days, translated), "due_class": due_class,
               "size": size_text, **(_menu_counts(app) if user else {}), **context}
    return i18n.templates(language).TemplateResponse(request, name, context, status_code=status_code)
