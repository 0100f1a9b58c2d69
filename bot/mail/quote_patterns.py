"""Recognisers for the lines mail clients put around quoted mail and under a reply."""

from __future__ import annotations

import re

# "On <date>, <name> wrote:" and its translations; the verb must end the line, followed by
# a colon (or Zoho's "----"), so prose such as "as I wrote in May" never matches.
_VERB_END = re.compile(
    r"(?:wrote|writes|a\s+écrit|schrieb|escribió|escreveu|schreef|ha\s+scritto|skrev|napisał(?:\(a\))?"
    r"|написал(?:\(а\))?|пише|kirjoitti|írta|yazdı|het\s+volgende\s+geschreven|写道|寫道)"
    r"\s*(?:[:：]|-{2,})\s*$", re.IGNORECASE)
_SCHRIEB_AM = re.compile(r"\bschrieb\s+am\b.{0,80}[:：]\s*$", re.IGNORECASE)
# Clients that write "<date> <name> <address>:" with no verb at all (Gmail in Japanese, ...).
_ADDRESS_COLON = re.compile(r">\s*[:：]\s*$")
_DIGIT = re.compile(r"\d")
_BRACKETED = re.compile(r"<[^<>]*>?")
_OPENING_WORD = re.compile(r"^(?:(?:on|le|am|el|em|op|il|den|dnia|w\s+dniu|på)\b|在)", re.IGNORECASE)
_OPENING = re.compile(
    r"^(?:-{2,}\s*)?(?:on|le|am|el|em|op|il|den|dnia|w\s+dniu|på|在|\d)", re.IGNORECASE)

# Separator lines such as "-----Original Message-----" or QQ Mail's "---- 原始邮件 ----".
_SEPARATOR = re.compile(
    r"^[\s*_>]*-{2,}\s*([^-]{2,40}?)\s*-{2,}[\s*]*$")
_SEPARATOR_WORDS = re.compile(
    r"message|nachricht|mensaje|mensagem|messaggio|meddelelse|meddelande|bericht|wiadomo"
    r"|сообщение|viesti|original|邮件|郵件|信息", re.IGNORECASE)
_FORWARD_WORDS = re.compile(r"forward|weitergeleitet|transféré|reenviado|inoltrato|转发|轉寄|轉發", re.IGNORECASE)
_FORWARD_LINE = re.compile(
    r"^(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht"
    r"|début\s+du\s+message\s+réexpédié|开始转发的邮件|開始轉寄郵件)\s*[:：]?\s*$", re.IGNORECASE)

# Outlook / QQ Mail / Foxmail header blocks: "From: / Sent: / To: / Subject:" in many languages.
_KEY = re.compile(r"^[\s*]*([^\s:：*][^:：*]{0,24}?)[\s*]*[:：]")
_KEY_KINDS = {
    "from": {"from", "de", "von", "van", "från", "fra", "od", "da", "от", "发件人", "寄件者", "發件人"},
    "sent": {"sent", "date", "gesendet", "datum", "enviado", "envoyé", "verzonden", "skickat",
             "sendt", "wysłano", "data", "fecha", "отправлено", "发送时间", "日期", "时间", "時間",
             "寄件日期", "發送時間"},
    "to": {"to", "an", "para", "à", "a", "aan", "till", "til", "do", "кому", "收件人", "收件者"},
    "subject": {"subject", "betreff", "asunto", "objet", "oggetto", "onderwerp", "ämne", "emne",
                "temat", "тема", "assunto", "主题", "主旨", "主題"},
    "cc": {"cc", "抄送", "副本"},
}
_RULE = re.compile(r"^\s*[-_=*~]{5,}\s*$")

# Device and client signatures ("Sent from my iPhone", "发自我的iPhone", "来自网易邮箱大师").
_SIGNATURE = re.compile(
    r"(?:sent\s+(?:from|with|via)\s.{1,60}|get\s+outlook\s+for\s.{1,60}|envoyé\s+(?:de|depuis)\s+mon\s.{1,40}"
    r"|von\s+meinem\s.{1,40}gesendet.{0,20}|verzonden\s+(?:met|vanaf)\s.{1,40}|enviado\s+desde\s.{1,40}"
    r"|inviato\s+da\s.{1,40}|sendt\s+fra\s+min\s.{1,30}|skickat\s+från\s+min\s.{1,30}"
    r"|diese\s+nachricht\s+wurde\s+von\s+meinem\s.{1,80}"
    r"|(?:发自|發自|来自|來自|发送自|从|從)(?:我的)?\s?[\w .·-]{0,20}?"
    r"(?:iphone|ipad|android|手机|手機|移动设备|平板|邮箱大师|郵箱大師|mail|outlook|客户端|客戶端)"
    r"\s?(?:发送|傳送|版)?\s*[.。!！]?)",
    re.IGNORECASE)
MAX_LINE = 400  # real header lines are short; longer ones are never tested (no regex cost)


def key_kind(line: str) -> str | None:
    """Which header field ("from", "sent", "to", ...) a "Key: value" line names, if any."""
    if len(line) > MAX_LINE or not (match := _KEY.match(line)):
        return None
    key = match.group(1).strip().lower()
    return next((kind for kind, names in _KEY_KINDS.items() if key in names), None)


def is_attribution(joined: str) -> bool:
    """Whether one (possibly re-joined) line is an "On ..., X wrote:" style attribution."""
    has_digit = bool(_DIGIT.search(joined))
    # "<date> <name> <address>:" needs a date outside the address ("<bob76@x.org>:" is no header).
    if _ADDRESS_COLON.search(joined) and "@" in joined and _DIGIT.search(_BRACKETED.sub("", joined)):
        return True
    has_hint = "@" in joined or has_digit or bool(_OPENING.match(joined))
    return has_hint and bool(_VERB_END.search(joined) or _SCHRIEB_AM.search(joined))


def opens_attribution(line: str) -> bool:
    """Whether a line can be the first of an attribution wrapped over several lines."""
    return bool(_OPENING.match(line)) or "@" in line or line.endswith("<")


def starts_new_attribution(line: str) -> bool:
    """A line opening with "On"/"Am"/"在"... begins its own attribution, it does not continue one."""
    return bool(_OPENING_WORD.match(line))


def separator_kind(line: str) -> str | None:
    """"forward" or "reply" for a separator line, else None."""
    if len(line) > MAX_LINE:
        return None
    if _FORWARD_LINE.match(line.strip(" *>")):
        return "forward"
    match = _SEPARATOR.match(line)
    if not match or not _SEPARATOR_WORDS.search(match.group(1)):
        return None
    return "forward" if _FORWARD_WORDS.search(match.group(1)) else "reply"


def is_rule(line: str) -> bool:
    return bool(_RULE.match(line))


def signature_room(line: str) -> int:
    """How many lines may follow line in a signature it opens (-1: it opens none).

    Sign-offs sit at the very end, so a "Sent from ..." with a paragraph under it is prose.
    """
    stripped = line.strip()
    if stripped == "--":
        return 15
    if len(stripped) <= 100 and not stripped.endswith((":", "：")) and _SIGNATURE.fullmatch(stripped):
        return 4
    return -1
