"""Rule classifier: spaCy pattern matching over English and Chinese text."""

from __future__ import annotations

from math import prod
from pathlib import Path

import spacy

from bot.classify import RIGHTS, Classification, classification_from_scores
from bot.classify.evidence import WINDOWS, Evidence, collect
from bot.classify.language import LONG_RUN, detect_language
from bot.classify.patterns import PatternMatcher, load_patterns

PATTERNS_DIR = Path(__file__).resolve().parents[2] / "classifiers" / "patterns"
# Subjects are terse, often stale ("Re: ..."), so they count for less than the body.
SUBJECT_WEIGHT = 0.85
BODY_WEIGHT = 1.0
# Requests sit at the top; what follows is mostly quoted history.
MAX_CHARS = 20_000
# How much near-miss evidence (refund, password...) lowers a right's score.
CONFLICT = 0.3
# A negated request ("do not delete my account") says the message is about
# something else, though less than a near miss does.
NEGATED_AS_OTHER = 0.5
# How much asking for a right and refusing it in one message ("delete my
# account ... do not delete my account") lowers the confidence in "other".
CONTRADICTION = 0.5
# "other" with no evidence either way; lower when there is no text at all,
# since the request may sit in an attachment.
PRIOR_OTHER = 0.6
PRIOR_OTHER_EMPTY = 0.3


def noisy_or(strengths) -> float:
    """Chance that at least one of several independent pieces of evidence holds."""
    return 1.0 - prod(1.0 - s for s in strengths)


def scores(evidence: list[Evidence], has_text: bool) -> dict[str, float]:
    """Per-kind scores in 0..1 from the evidence of subject and body."""
    against_all = noisy_or([e.strength for e in evidence if e.kind == "other"]
                           + [NEGATED_AS_OTHER * e.strength for e in evidence if e.negated])
    result, contradiction = {}, 0.0
    for right in RIGHTS:
        support = noisy_or(e.strength for e in evidence if e.kind == right and not e.negated)
        against = noisy_or(e.strength for e in evidence if e.kind == right and e.negated)
        result[right] = support * (1.0 - against) * (1.0 - CONFLICT * against_all)
        contradiction = max(contradiction, min(support, against))
    prior = PRIOR_OTHER if has_text else PRIOR_OTHER_EMPTY
    result["other"] = (noisy_or([prior, against_all]) * (1.0 - max(result.values()))
                       * (1.0 - CONTRADICTION * contradiction))
    return result


class RuleClassifier:
    """Classifier built from classifiers/patterns/{en,zh}.jsonl.

    Both languages' patterns run on every text, so a Chinese message with an
    English phrase (or the reverse) is still read; the detected language only
    fills Classification.language.
    """

    def __init__(self, patterns_dir: Path | str = PATTERNS_DIR):
        self.readers = {}
        for language in WINDOWS:
            # blank pipelines: the tokenizer only (zh: one token per character).
            nlp = spacy.blank(language)
            patterns = load_patterns(Path(patterns_dir) / f"{language}.jsonl")
            self.readers[language] = (nlp, PatternMatcher(nlp, patterns))

    def evidence(self, subject: str, body: str) -> list[Evidence]:
        """Everything the patterns found, for explanations and debugging."""
        found = []
        for text, location in ((subject, SUBJECT_WEIGHT), (body[:MAX_CHARS], BODY_WEIGHT)):
            if not text.strip():
                continue
            text = LONG_RUN.sub(" ", text)
            for language, (nlp, matcher) in self.readers.items():
                with nlp.memory_zone():   # forget the mail's new words (see model.py)
                    doc = nlp.make_doc(text)
                    found += collect(doc, matcher(doc), WINDOWS[language], location)
        return found

    def classify(self, subject: str, body: str) -> Classification:
        subject, body = subject or "", body or ""
        language = detect_language(f"{subject}\n{body[:MAX_CHARS]}")
        has_text = any(c.isalnum() for c in subject + body[:MAX_CHARS])
        return classification_from_scores(scores(self.evidence(subject, body), has_text),
                                          language)
