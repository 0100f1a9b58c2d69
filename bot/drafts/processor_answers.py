"""Rules that read a processor's answer to a deletion notice: confirmed, refused or question (English, Chinese).

Only the new text is read (the quoted notice says "delete" too). A refusal or a negated deletion
wins over a confirmation; a confirmation that also asks something, or text that says neither, is
a question: a person reads it either way, so doubt goes to them, never to "confirmed"."""
from __future__ import annotations

import re

CONFIRMED, REFUSED, QUESTION = "confirmed", "refused", "question"

_REFUSED = re.compile(
    r"\b(?:not|never|n't|unable to|cannot|can\s?not|won't|will not|could not|couldn't)\s+(?:yet\s+|been\s+|be\s+)*"
    r"(?:delete|deleted|erase|erased|remove|removed|comply|process)\b"
    r"|\b(?:refuse[sd]?|decline[sd]?|reject(?:s|ed)?|obliged to (?:keep|retain)|required (?:by law )?to (?:keep|retain)"
    r"|legal (?:obligation|requirement) to (?:keep|retain)|must (?:keep|retain))\b"
    r"|无法删除|不能删除|不予删除|拒绝|未删除|尚未删除|没有删除|不会删除|无法完成|不同意|需要保留|依法保留", re.I)
_CONFIRMED = re.compile(
    r"\b(?:deleted|erased|removed|purged|destroyed|anonymi[sz]ed)\b"
    r"|\b(?:deletion|erasure|removal) (?:is |has been |was )?(?:complete|completed|done|carried out|confirmed)\b"
    r"|\b(?:confirm|confirming) (?:the |that the )?(?:deletion|erasure|removal)\b"
    r"|已删除|已经删除|删除完成|完成删除|已完成删除|已清除|已移除|已销毁|已匿名化|确认删除|删除已完成", re.I)
_QUESTION = re.compile(
    r"[?？]|\b(?:please (?:provide|send|confirm|clarify|specify)|could you|can you|which (?:account|user|data)"
    r"|need (?:more|further|additional) (?:information|details))\b"
    r"|请提供|请确认|请说明|请问|哪个账户|哪些数据|需要更多信息|是否", re.I)


def classify_answer(new_text: str) -> str:
    text = " ".join(new_text.split())
    if _REFUSED.search(text):
        return REFUSED
    if _CONFIRMED.search(text) and not _QUESTION.search(text):
        return CONFIRMED
    return QUESTION
