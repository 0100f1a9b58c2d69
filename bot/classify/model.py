"""The trained classifier: a spaCy textcat_multilabel pipeline over English and Chinese text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import spacy
from spacy.tokens import Doc

from bot.classify import MODEL_DIR, THRESHOLD, Classification, classification_from_scores
from bot.classify.calibration import Calibration
from bot.classify.language import LONG_RUN, detect_language
from bot.classify.signals import read_signals, weigh

# Requests sit at the top; the rest of a long mail is mostly quoted history,
# and the model never saw a training text longer than a few thousand characters.
MAX_CHARS = 3000

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# One token per Han character, as spacy.blank("zh") segments, and one per
# word elsewhere, so that "请delete我的account" reads as both languages.
TOKEN = re.compile(rf"[{HAN}]|\d+|[^\W\d{HAN}_]+(?:['’][^\W\d{HAN}_]+)*|[^\w\s]|\n")
CLAUSE_BREAKS = frozenset(".,;:!?…()，。；：！？（）、\n") | {"but", "please", "但", "请", "請"}
# Cues whose scope (the rest of the clause, at most CUE_WINDOW tokens) is
# repeated with a marker: a linear model over n-grams cannot tell "do not
# delete my account" or "how do I delete a post" from requests otherwise.
NEGATION, QUESTION = "neg:", "how:"
ENGLISH_CUES = {
    **dict.fromkeys(("not", "no", "never", "without", "nor", "neither", "dont", "didnt",
                     "doesnt", "cant", "wont", "isnt"), NEGATION),
    **dict.fromkeys(("how", "where", "whether", "if"), QUESTION),
}
CHINESE_CUES = {
    **dict.fromkeys(("不要", "不想", "不用", "不需要", "不必", "无需", "無需", "没有", "沒有", "不是",
                     "并非", "並非", "别", "別", "勿", "不"), NEGATION),
    **dict.fromkeys(("怎么", "怎麼", "怎样", "怎樣", "如何", "在哪", "哪里", "哪裡", "能不能",
                     "可不可以", "是否", "有没有", "有沒有", "如果", "假如", "要是", "万一", "萬一"),
                    QUESTION),
}
# Chinese cues by first character, longest first (不需要 before 不).
CHINESE_CUES_AT = {}
for _cue in sorted(CHINESE_CUES, key=len, reverse=True):
    CHINESE_CUES_AT.setdefault(_cue[0], []).append(_cue)
CUE_STARTS = frozenset(ENGLISH_CUES) | frozenset(CHINESE_CUES_AT)
CONTRACTED_NEGATION = ("n't", "n’t")
CUE_WINDOW = 6
CUE_SEPARATOR = "¦"
# Typographic apostrophes in English contractions, as many mail programs type them, read as
# "'": "don’t", "I’d" are "don't", "I'd" for the bag of words (its training data has only "'")
# and the signals alike. Elisions ("l’accesso", "d’accès") stay as typed: folding them too was
# measured, and turned good-lly's Italian access letter into a deletion (by "d’ora", "d’identità").
CONTRACTION = re.compile(r"[’‘ʼ](?=(?:t|s|m|d|ll|re|ve)\b)", re.I)


def prepare(subject: str, body: str) -> str:
    """The text the model reads: subject and body, cut, normalised and lower-cased."""
    text = f"{subject or ''}\n{body or ''}"[:MAX_CHARS]
    return unicodedata.normalize("NFKC", CONTRACTION.sub("'", LONG_RUN.sub(" ", text))).lower()


def _cue_at(tokens: list[str], i: int) -> tuple[str, int] | None:
    """(marker, length in tokens) of the cue starting at tokens[i], if one does."""
    token = tokens[i]
    if token in ENGLISH_CUES:
        return ENGLISH_CUES[token], 1
    if token.endswith(CONTRACTED_NEGATION):
        return NEGATION, 1
    for cue in CHINESE_CUES_AT.get(token, ()):
        if len(cue) == 1 or "".join(tokens[i:i + len(cue)]) == cue:
            return CHINESE_CUES[cue], len(cue)
    return None


def cue_scopes(tokens: list[str]) -> list[str]:
    """Marked copies of the tokens each negation or question cue reaches."""
    marked, resume = [], 0
    for i, token in enumerate(tokens):
        # Most tokens open no cue: the set lookup spares them _cue_at's call.
        if (i < resume or (token not in CUE_STARTS and not token.endswith(CONTRACTED_NEGATION))
                or (found := _cue_at(tokens, i)) is None):
            continue
        marker, resume = found[0], i + found[1]
        for token in tokens[resume:resume + CUE_WINDOW]:
            if token in CLAUSE_BREAKS:
                break
            marked.append(marker + token)
    return marked


class CueTokenizer:
    """Words and Han characters of a prepared text, then the cue scopes after a separator."""

    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        tokens = TOKEN.findall(text)
        words = [t for t in tokens if t != "\n"]
        return Doc(self.vocab, words=[*words, CUE_SEPARATOR, *cue_scopes(tokens)])

    # Nothing to save: the tokenizer is all code.
    def to_disk(self, path, **kwargs) -> None:
        pass

    def from_disk(self, path, **kwargs) -> CueTokenizer:
        return self


@spacy.registry.tokenizers("supportbot.cue_tokenizer.v1")
def create_cue_tokenizer():
    return lambda nlp: CueTokenizer(nlp.vocab)


class TrainedClassifier:
    """Classifier backed by the pipeline `supportbot train` writes to classifiers/model."""

    def __init__(self, model_path: Path | str = MODEL_DIR, threshold: float = THRESHOLD,
                 calibrated: bool = True, hybrid: bool = True):
        self.nlp = spacy.load(model_path)
        # The one component, run on the tokenizer's doc: nlp() adds per-call checks and doc.cats.
        (_, self.textcat), = self.nlp.pipeline
        # The bag of words reads ORTH only: spaCy's lexical attributes of each new word go unread.
        self.nlp.vocab.lex_attr_getters = {}
        self.threshold = threshold
        # Raw scores are not shares of right answers; the model's calibration map makes them so.
        self.calibration = Calibration.load(model_path) if calibrated else None
        # Evidence the bag of words misses (bot.classify.signals) takes precedence over it.
        self.hybrid = hybrid

    def _scores(self, text: str) -> dict[str, float]:
        """The model's score a label for a prepared text, as nlp(text).cats holds them."""
        # The memory zone forgets the mail's new words afterwards: a bot running for months would
        # otherwise keep every phone number and address it read in spaCy's StringStore.
        with self.nlp.memory_zone():
            scores = self.textcat.predict([self.nlp.make_doc(text)]).tolist()[0]
        return dict(zip(self.textcat.labels, scores))

    def _decide(self, scores: dict[str, float], text: str, language: str) -> Classification:
        if self.hybrid:
            scores = weigh(scores, read_signals(text), self.threshold)
        result = classification_from_scores(scores, language, self.threshold)
        return self.calibration(result) if self.calibration else result

    def classify(self, subject: str, body: str) -> Classification:
        subject, body = subject or "", body or ""
        text = prepare(subject, body)
        return self._decide(self._scores(text), text, detect_language(f"{subject}\n{body}"))

    def classify_many(self, messages: Iterable[tuple[str, str]],
                      batch_size: int = 256) -> list[Classification]:
        """classify() for many (subject, body) pairs at once, which is faster."""
        messages = [(subject or "", body or "") for subject, body in messages]
        texts = [prepare(s, b) for s, b in messages]
        with self.nlp.memory_zone():
            cats = [dict(doc.cats) for doc in self.nlp.pipe(texts, batch_size=batch_size)]
        return [self._decide(scores, text, detect_language(f"{s}\n{b}"))
                for (s, b), text, scores in zip(messages, texts, cats)]
