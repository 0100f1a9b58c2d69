"""The text a classifier reads from a mail: one preparation for intake, classify-file, eval and training."""

from __future__ import annotations

import re

from bot.mail.quotes import split_reply
from bot.mail.subject import normalize_subject

# A corporate disclaimer says "if you received this in error, delete it": read as the
# sender's text it asks for a deletion nobody wants.  Where one of these marks stands, the
# rest of its paragraph goes, from the mark's line on; but only when other text remains (a
# mail that is nothing but a disclaimer is left as it is, for the classifier to call "other").
_DISCLAIMER = re.compile(
    r"(?:received|receive|got)\s+(?:this|the)\s+(?:(?:e-?mail|message|communication|transmission)\s+)?"
    r"(?:\(?(?:and|or|including)\s+any\s+attachments?\)?\s+)?(?:in\s+error|by\s+mistake|by\s+accident)"
    r"|\bnot\s+(?:the|an)\s+(?:intended|named|addressed)\s+(?:recipient|addressee)"
    r"|intended\s+(?:solely|only|exclusively)\s+for\s+the\s+(?:use\s+of\s+the\s+)?"
    r"(?:person|individual|entity|addressee|named|intended)"
    r"|confidentiality\s+(?:notice|note|statement|disclaimer)|^\s*disclaimer\s*[:：]"
    r"|(?:误|誤|错误地?|錯誤地?|意外)(?:收到|接收|收)了?(?:本|此|这|這|该|該)封?(?:邮件|郵件|信|讯息|訊息|消息)"
    r"|(?:非|不是|并非|並非)[^，。,\n]{0,8}(?:收件人|收件者|接收人|接收者)"
    r"|(?:仅|僅|只)(?:供|限|发给|發給)[^，。,\n]{0,6}(?:收件人|收件者|接收人|接收者)"
    r"|(?:保密|机密|機密)(?:声明|聲明|提示)|免责声明|免責聲明",
    re.I | re.M)
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")


def _before_disclaimer(paragraph: str) -> str:
    """The paragraph's lines above the one where a disclaimer starts (all when none does)."""
    found = _DISCLAIMER.search(paragraph)
    return paragraph if found is None else paragraph[:paragraph.rfind("\n", 0, found.start()) + 1]


def strip_disclaimers(text: str) -> str:
    """The text without its confidentiality disclaimers."""
    if not _DISCLAIMER.search(text):
        return text
    kept = [_before_disclaimer(p) for p in _PARAGRAPHS.split(text)]
    if not any(p.strip() for p in kept):
        return text
    return "\n\n".join(p.strip("\n") for p in kept if p.strip())


def classifier_input(subject: str, text: str, new_text: str | None = None) -> tuple[str, str]:
    """(subject, body) to classify: the subject without Re:/Fwd:, the body's new text

    without quoted or forwarded mail, signature and disclaimers (the whole text when
    nothing new is left, as in a bare forward). `new_text`: split_reply(text)[0] when the
    caller has it already (a parsed message's new_text), so the text is not split again.
    """
    new_text = (split_reply(text or "")[0] if new_text is None else new_text) or text or ""
    cleaned = strip_disclaimers(new_text)
    if cleaned != new_text:   # the signature stood above the disclaimer: now it can go
        cleaned = split_reply(cleaned)[0] or cleaned
    return normalize_subject(subject or ""), cleaned
