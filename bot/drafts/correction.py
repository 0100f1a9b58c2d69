"""Rule: which fields a correction request names, the new values where the text says them, and which
of the requester's messages said each."""
from __future__ import annotations

import re

from bot.store.accounts.phones import find_phones
from sqlmodel import Session, select

from bot.store.models import InboundMessage, Ticket

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NEW_VALUE = r"\s*(?:\b(?:to|into|as)\b|改为|改成|更正为|更改为|修改为|换成|為|为)\s*[\"'“‘「]?([^\s\"'”’」，,。;；]{1,40})"
_FIELDS = {
    "nickname": r"(?:nick\s?name|昵称|暱稱|用户名|用戶名)",
    "birthday": r"(?:birthday|date of birth|生日|出生日期)",
    "gender": r"(?:gender|性别|性別)",
    "name": r"(?:real name|legal name|full name|实名|真实姓名|真實姓名|姓名)",
}


def requested_corrections(text: str) -> list[dict]:
    """[{field, new_value}] for staff to check and apply; new_value is "" when the text does not say."""
    found: list[dict] = []
    phones = find_phones(text)
    if phones and re.search(r"phone|mobile|number|手机|手機|电话|電話|号码|號碼", text, re.I):
        # The last number mentioned is usually the new one ("from A to B", "改为 B").
        found.append({"field": "phone", "new_value": phones[-1]})
    emails = _EMAIL.findall(text)
    if emails and re.search(r"e-?mail|邮箱|郵箱|邮件地址", text, re.I):
        found.append({"field": "email", "new_value": emails[-1].lower()})
    for field, cue in _FIELDS.items():
        match = re.search(cue + r".{0,60}?" + _NEW_VALUE, text, re.I | re.S)
        if match:
            found.append({"field": field, "new_value": match.group(1)})
        elif re.search(cue, text, re.I):
            found.append({"field": field, "new_value": ""})
    return found


def correction_sources(session: Session, ticket: Ticket) -> list[dict]:
    """[{field, new_value, inbound_id, message_id, received_at}] from the requester's own messages only
    (party "requester", see bot/tickets/threads.py); a later message's value wins."""
    found: dict[str, dict] = {}
    messages = session.exec(select(InboundMessage).where(
        InboundMessage.ticket_id == ticket.id, InboundMessage.party == "requester",
        InboundMessage.machine_reason.is_(None)).order_by(InboundMessage.received_at, InboundMessage.id))
    for message in messages:
        for item in requested_corrections(message.new_text or ""):
            if item["new_value"] or item["field"] not in found:
                found[item["field"]] = {**item, "inbound_id": message.id, "message_id": message.message_id,
                                        "received_at": message.received_at}
    return list(found.values())
