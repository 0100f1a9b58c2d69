"""Structured evidence a bag of words misses: statute citations, opt-outs, regulator complaints, doubtful deletions.

Regular expressions over the prepared text (lower case, NFKC), cheap enough to run on every
mail; the spaCy pattern layer (bot.classify.rules) reads more but costs ten times the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Articles and sections that name one right.  GDPR and UK GDPR: Art. 15 access, 16
# rectification, 17 erasure; CCPA/CPRA: 1798.100/110/115 know, 1798.105 delete, 1798.106
# correct; LGPD Art. 18 items II/III/VI; PIPL 第四十五条 access and copy, 第四十六条
# correction, 第四十七条 deletion.
_ART = r"(?:article|art\.?|artikel|artículo|articolo)\s*"
CITATIONS = {
    "access": re.compile(
        _ART + r"15\b|1798\.1(?:00|10|15)\b|right\s+to\s+know|right\s+of\s+access|subject\s+access\s+request"
        r"|第(?:四十五|45)条|第(?:四十五|45)條|查阅权|查閱權|复制权|複製權|access\s+to\s+(?:my\s+)?personal\s+information\s+under\s+pipeda"),
    "correction": re.compile(
        _ART + r"16\b|1798\.106\b|right\s+to\s+(?:rectification|correct(?:ion)?)\b|第(?:四十六|46)[条條]|更正权|更正權|补充权|補充權"),
    "deletion": re.compile(
        _ART + r"17\b|1798\.105\b|right\s+to\s+(?:erasure|delete|deletion|be\s+forgotten)|第(?:四十七|47)[条條]|删除权|刪除權"),
}
# Framing that the request is someone else's or an earlier one: an agent, lawyer or guardian
# writing, or a reminder chasing a request.  With it, a right named in plain words is asked for.
FRAMED = re.compile(
    r"on\s+(?:his|her|their|my\s+client'?s?|behalf\s+of)|we\s+(?:act|are\s+acting)\s+for|authori[sz]ed\s+agent"
    r"|power\s+of\s+attorney|as\s+(?:his|her|their)\s+(?:parent|guardian|mother|father|legal\s+representative)"
    r"|^\W*(?:\w+\s+)?(?:reminder|admonition)\b|chasing\s+my|follow(?:ing)?[\s-]+up\s+on\s+my"
    r"|委托|委託|代(?:其|他|她|为|為)(?:申请|申請|提出|要求)|监护人|監護人|^\W*(?:再次)?(?:提醒|催办|催辦)[:：]|再次(?:申请|申請|要求)", re.M)
NAMED = {
    "access": re.compile(r"\bcopy\b|\baccess\b|subject\s+access|查阅|查閱|复制|複製|副本|导出|導出"),
    "correction": re.compile(r"rectif|correct|amend|更正|修改|改正|补充|補充"),
    "deletion": re.compile(r"eras|delet|remov|forgotten|删除|刪除|注销|註銷|销户|銷戶"),
}
# Asking to stop something rather than for a right here: objection (GDPR Art. 21), opt-out
# of sale or sharing (CCPA 1798.120), unsubscribe, withdrawing consent, "stop processing".
OPT_OUT = re.compile(
    _ART + r"21\b|1798\.12[01]\b|\bobject(?:ion)?\s+to\s+(?:the\s+)?(?:processing|profiling|direct\s+marketing)"
    r"|do\s+not\s+sell|don'?t\s+sell|opt(?:ing)?[\s-]+(?:me\s+)?out|unsubscribe|withdraw(?:ing|al\s+of)?\s+(?:my\s+)?consent"
    r"|stop\s+(?:processing|using|sharing|selling)\s+my|撤回(?:我的)?(?:授权|授權|同意)|停止(?:处理|處理|使用|共享|出售)(?:我的)?"
    r"|退订|退訂|取消订阅|取消訂閱|拒绝(?:接收)?(?:营销|推送|广告)|反对.{0,6}处理|不得(?:出售|共享)")
# A complaint to a supervisory authority that quotes or recounts the request made to us.
REGULATOR = re.compile(
    r"(?<!will )(?<!shall )(?<!may )(?<!to )(?:lodge|file|submit|make)\s+(?:a\s+|this\s+|my\s+)?complaint\s+against"
    r"|^\s*(?:dear|to:?)\s+(?:the\s+)?(?:ico|cnil|anpd|information\s+commissioner|(?:\w+\s+)?data\s+protection\s+(?:authority|commission)"
    r"|supervisory\s+authority|office\s+of\s+the\s+privacy\s+commissioner|california\s+privacy\s+protection\s+agency)"
    r"|(?:被投诉人|被投訴人|被投诉方|被投訴方|被举报人|被舉報人|投诉对象|投訴對象|举报对象|舉報對象)[:：]"
    r"|^\s*(?:致|尊敬的)?(?:国家|國家|\w{0,4}[省市])?(?:网信办|網信辦|网信部门|網信部門|市场监督管理局|市場監督管理局|消费者协会|消費者協會)",
    re.M)
# What weakens a deletion: refusing it, deleting one wrong value to put another, taking the
# request back, or thanking us for a deletion already done.
DELETION_DOUBT = re.compile(
    r"(?:don'?t|do\s+not|never|not)\s+(?:want\s+(?:you\s+)?to\s+|wish\s+to\s+|need\s+(?:you\s+)?to\s+)?(?:delete|erase|close|remove|cancel)"
    r"|(?:delete|remove|erase)\s+(?:the\s+|my\s+)?(?:wrong|old|incorrect|outdated|misspelled)\b.{0,60}\b(?:put|replace|add|use|change|write|enter|with)"
    r"|(?:cancel|withdraw|retract|take\s+back|disregard|ignore)\s+(?:my\s+)?(?:earlier\s+|previous\s+|last\s+)?"
    r"(?:deletion|erasure|delete|closure)|changed\s+my\s+mind|no\s+longer\s+want\s+(?:it|my\s+account)\s+deleted"
    r"|thank(?:s|\s+you)\b.{0,40}\b(?:deleting|deleted|erasing|erased|removing|removed|closing|closed)"
    r"|(?:不想|不要|不用|不必|别|別|无需|無需|不需要)(?:再)?(?:帮我|幫我|给我|給我)?(?:删除|刪除|注销|註銷|销户|銷戶|删|刪)"
    r"|(?:删掉|刪掉|删除|刪除|去掉)(?:那个|那個|这个|這個)?(?:错误|錯誤|旧|舊|写错|寫錯)的.{0,30}(?:换成|換成|改成|改为|改為|填上|填成|替换|替換)"
    r"|(?:撤回|撤销|撤銷|取消)(?:我的|之前的|上次的)?(?:注销|註銷|删除|刪除)(?:申请|申請|请求|請求)"
    r"|(?:谢谢|謝謝|感谢|感謝).{0,20}(?:已经|已經|已)(?:删除|刪除|注销|註銷)|(?:已经|已經|已)(?:删除|刪除|注销|註銷).{0,20}(?:谢谢|謝謝|感谢|感謝)")


# A deletion asked for outright: its verb with no negation earlier in the clause.
_DELETION_VERB = re.compile(r"delet|eras|remov|wipe|注销|註銷|删|刪|销户|銷戶|抹除")
_CLAUSE_START = re.compile(r".*[.,;!?。，、；！？\n]", re.S)
_NEGATION = re.compile(r"\bnot\b|n't|\bno\b|\bnever\b|不|别|別|无需|無需|勿")


def _asks_deletion(text: str) -> bool:
    for verb in _DELETION_VERB.finditer(text):
        before = text[max(0, verb.start() - 60):verb.start()]
        clause = before[m.end():] if (m := _CLAUSE_START.match(before)) else before
        if not _NEGATION.search(clause):
            return True
    return False


@dataclass(frozen=True)
class Signals:
    cited: frozenset[str]      # rights named by statute or article
    named: frozenset[str]      # rights named in words by an agent, guardian or a reminder
    opt_out: bool              # objection, opt-out, unsubscribe, consent withdrawn; no deletion asked
    regulator: bool            # a complaint to a regulator, not a request to us
    deletion_doubt: bool       # deletion refused, about one field, taken back or thanked for


def read_signals(text: str) -> Signals:
    """The signals in a prepared (lower-cased, NFKC) text."""
    framed = bool(FRAMED.search(text))
    named = frozenset(right for right, pattern in NAMED.items() if framed and pattern.search(text)
                      and (right != "deletion" or _asks_deletion(text)))
    return Signals(frozenset(right for right, pattern in CITATIONS.items() if pattern.search(text)), named,
                   bool(OPT_OUT.search(text)) and not _asks_deletion(text), bool(REGULATOR.search(text)),
                   bool(DELETION_DOUBT.search(text)))


# How far each signal moves the model's scores.  A wrong deletion draft costs more than a
# triaged mail, so doubts lower deletion (below the label threshold: "other" at the model's
# own, usually low, confidence, which sends the mail to triage) and never raise it.
DOUBTED_DELETION = 0.35
OPTED_OUT_DELETION = 0.4
REGULATOR_RIGHTS = 0.3
# A letter that names a right by law (or an agent's or reminder's letter that names it in
# words), read as no request at all by the model, asks for it.
CITED_SCORE = 0.6
# What is left of a right the model found that the letter does not name.
UNNAMED_RIGHT = 0.5


def weigh(scores: dict[str, float], signals: Signals, threshold: float) -> dict[str, float]:
    """The model's scores with the signals' precedence applied."""
    scores = dict(scores)
    if signals.regulator:
        for right in CITATIONS:
            scores[right] *= REGULATOR_RIGHTS
        return scores
    candidates = signals.cited or signals.named
    asked = {right for right in CITATIONS if scores[right] >= threshold}
    if candidates and not signals.opt_out:
        # The rights the letter names win over those the model guessed from its wording: an access
        # letter's boilerplate lists erasure among the rights (GDPR Art. 15(1)(e)) without asking for it.
        for right in asked - candidates:
            scores[right] *= UNNAMED_RIGHT
        if not asked & candidates:
            cited = max(candidates, key=lambda right: scores[right])
            scores[cited] = max(scores[cited], CITED_SCORE)
    if signals.opt_out:
        scores["deletion"] *= OPTED_OUT_DELETION
    if signals.deletion_doubt and "deletion" not in signals.cited:   # a law named outweighs a doubt
        scores["deletion"] *= DOUBTED_DELETION
    return scores
