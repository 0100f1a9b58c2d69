"""Rule-classifier pattern files: loading, checking and matching them with spaCy."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from bot.classify import RIGHTS
from bot.classify.jsonl import json_objects

# What a pattern line can be; classifiers/README.md explains each.
LABELS = RIGHTS + ("act", "object", "other", "negation", "howto", "break")
KEYS = {"label", "pattern", "weight", "right", "rights", "topic", "blocks", "window", "refers"}


@dataclass(frozen=True)
class Pattern:
    label: str
    pattern: str | list[dict]
    weight: float = 1.0
    right: str | None = None            # act: the right it asks for
    rights: tuple[str, ...] = ()        # object: rights it can be the object of; () = lookalike
    refers: bool = False                # object: a pronoun, standing for the object before it
    topic: str = ""                     # other / lookalike object: what is asked instead
    blocks: bool = False                # other: vetoes a right asked for right next to it
    window: int | None = None           # negation: reach in tokens, if not the language's
    source: str = ""                    # "file:line", for errors and explanations


@dataclass(frozen=True)
class Found:
    pattern: Pattern
    start: int                          # token offsets in the doc
    end: int


def _check(fields: dict, source: str) -> Pattern:
    unknown = set(fields) - KEYS
    if unknown or "label" not in fields or "pattern" not in fields:
        raise ValueError(f"{source}: needs label and pattern, unknown keys {sorted(unknown)}")
    label, pattern = fields["label"], fields["pattern"]
    if label not in LABELS:
        raise ValueError(f"{source}: label {label!r} is not one of {LABELS}")
    if not pattern or not isinstance(pattern, (str, list)):
        raise ValueError(f"{source}: pattern must be a phrase or a list of token dicts")
    if (label == "act") != (fields.get("right") in RIGHTS):
        raise ValueError(f"{source}: an act, and only an act, names its right")
    rights = tuple(fields.get("rights", ()))
    if set(rights) - set(RIGHTS) or ((rights or "refers" in fields) and label != "object"):
        raise ValueError(f"{source}: only objects have rights or refer, and to known rights")
    weight = fields.get("weight", 1.0)
    if not 0.0 < weight <= 1.0:
        raise ValueError(f"{source}: weight {weight!r} is outside (0, 1]")
    return Pattern(label, pattern, weight, fields.get("right"), rights,
                   bool(fields.get("refers", False)), fields.get("topic", ""),
                   bool(fields.get("blocks", False)),
                   fields.get("window"), source)


def load_patterns(path: Path) -> list[Pattern]:
    """Read one JSON object per line; blank lines and {"comment": ...} are skipped."""
    return [_check(fields, source) for source, fields in json_objects(path, ValueError, name=Path(path).name)
            if set(fields) != {"comment"}]


class PatternMatcher:
    """All of one language's patterns: phrases on lower-case text, token
    patterns through spaCy's Matcher."""

    def __init__(self, nlp, patterns: list[Pattern]):
        self.patterns = patterns
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.tokens = Matcher(nlp.vocab, validate=True)
        phrase_keys = [str(i) for i, p in enumerate(patterns) if isinstance(p.pattern, str)]
        docs = nlp.tokenizer.pipe(patterns[int(key)].pattern for key in phrase_keys)
        for key, doc in zip(phrase_keys, docs):
            self.phrases.add(key, [doc])
        for key, pattern in enumerate(patterns):
            if isinstance(pattern.pattern, list):
                try:
                    self.tokens.add(str(key), [pattern.pattern])
                except Exception as error:   # spaCy reports bad patterns as several types
                    raise ValueError(f"{pattern.source}: {error}") from None

    def __call__(self, doc: Doc) -> dict[str, list[Found]]:
        """Matches grouped by label, longest first where two of a label overlap."""
        spans = defaultdict(list)
        matches = [*(self.phrases(doc) if len(self.phrases) else ()),
                   *(self.tokens(doc) if len(self.tokens) else ())]
        for match_id, start, end in matches:
            key = doc.vocab.strings[match_id]
            spans[self.patterns[int(key)].label].append(Span(doc, start, end, label=key))
        return {label: sorted((Found(self.patterns[int(span.label_)], span.start, span.end)
                               for span in filter_spans(group)), key=lambda f: f.start)
                for label, group in spans.items()}
