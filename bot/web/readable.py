"""Audit details and facts as people read them: local times, yes/no, short Message-IDs, kinds in words."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")
MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>\s]+>$")


def N_(text: str) -> str:
    """Marks a word for the catalogue (pybabel -k N_); translated where it is shown."""
    return text


# Kinds of request and of mail we send, as a word staff know.
KIND_NAMES = {"access": N_("access to data"), "correction": N_("correction"), "deletion": N_("deletion"),
              "other": N_("other"), "ack": N_("acknowledgement"), "ack-code": N_("acknowledgement with code"), "ask-details": N_("account question"),
              "challenge": N_("verification code"), "challenge-sms": N_("code by SMS"),
              "third-party-notice": N_("third-party notice"), "reply-access": N_("reply: access"),
              "reply-correction": N_("reply: correction"), "reply-deletion": N_("reply: deletion"),
              "reply-other": N_("reply"), "digest": N_("digest"), "reminder": N_("reminder"),
              "extension": N_("extension notice")}
# Ticket statuses whose stored value is no word; every other status is shown through _(value).
STATUS_NAMES = {"replying": N_("reply on its way"), "reply-undelivered": N_("reply undelivered")}
# Statuses, verification states, roles and channels the pages show through _(value).
WORDS = (N_("open"), N_("answered"), N_("closed"), N_("pending"), N_("verified"), N_("challenged"), N_("unknown"),
         N_("refused"), N_("requester"), N_("staff"), N_("manager"), N_("email"), N_("sms"), N_("used"),
         N_("locked"), N_("expired"), N_("superseded"), N_("withheld"), N_("approved"), N_("rejected"),
         N_("sent"), N_("sending"), N_("failed"), N_("active"), N_("disabled"), N_("Not allowed"), N_("Not found"),
         N_("Gone"), N_("Not understood"), N_("Error"))


def kind_name(kind: str | None, gettext=lambda text: text) -> str:
    return gettext(KIND_NAMES[kind]) if kind in KIND_NAMES else (kind or "")


def status_name(status: str, gettext=lambda text: text) -> str:
    return gettext(STATUS_NAMES.get(status, status))


def short_id(message_id: str) -> str:
    """<long-local-part@host> as <first 8…@host>: enough to tell two apart on the page."""
    local, _, host = message_id.strip("<>").partition("@")
    return f"<{local[:8]}…@{host}>" if len(local) > 10 else message_id


def local_time(text: str, zone: ZoneInfo) -> str | None:
    """An ISO time (as the audit stores them, UTC) in `zone`, to the minute; None if it is no time."""
    if not ISO_TIME.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else moment.strftime("%Y-%m-%d %H:%M")


def value_html(value: object, zone: ZoneInfo, gettext) -> Markup:
    if isinstance(value, bool):
        return Markup(escape(gettext("yes") if value else gettext("no")))
    if isinstance(value, (list, tuple)):
        return Markup(", ").join(value_html(v, zone, gettext) for v in value)
    text = str(value)
    if MESSAGE_ID.match(text):
        return Markup('<span class="mid" title="{0}">{1}</span>').format(text, short_id(text))
    when = local_time(text, zone)
    if when:
        return Markup(escape(when))
    return Markup(escape(kind_name(text, gettext) if text in KIND_NAMES else text))


def evidence(detail: dict, zone: ZoneInfo, gettext=lambda text: text) -> Markup:
    """An audit event's detail as "key: value" pairs, empty values left out, keys in words."""
    return Markup(" · ").join(
        Markup("{0}: ").format(gettext(key.replace("_", " "))) + value_html(value, zone, gettext)
        for key, value in detail.items() if value not in (None, "", [], {}))
