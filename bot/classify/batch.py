"""Classify messages from a JSON Lines file, and score a labelled one."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TextIO

from bot.classify import KINDS, Classification, Classifier
from bot.classify.evaluation import Evaluation, evaluate
from bot.classify.jsonl import json_objects

# Messages classified per batch: big enough for spaCy's pipe, small enough
# that a huge file never sits in memory at once.
CHUNK = 1000


class InputError(ValueError):
    """A line of an input file is unusable; the message names file and line."""


@dataclass(frozen=True)
class Message:
    id: object
    subject: str
    body: str
    label: str | None = None                 # gold primary label, for eval
    labels: tuple[str, ...] | None = None    # gold label set, when the line has one
    language: str | None = None              # gold language, when the line has one


def _message(fields: dict, where: str, labelled: bool) -> Message:
    for key in ("subject", "body"):
        if not isinstance(fields.get(key, ""), str):
            raise InputError(f"{where}: {key} must be a string")
    if labelled and fields.get("label") not in KINDS:
        raise InputError(f"{where}: label must be one of {', '.join(KINDS)}")
    labels = fields.get("labels")
    return Message(fields.get("id"), fields.get("subject") or "", fields.get("body") or "",
                   fields.get("label"), tuple(labels) if isinstance(labels, list) else None,
                   fields.get("language"))


def read_messages(path: Path | str, labelled: bool = False) -> Iterator[Message]:
    """Messages of a JSON Lines file (id, subject, body, and for eval label); blank lines skipped."""
    for where, fields in json_objects(path, InputError):
        if "id" not in fields:
            raise InputError(f"{where}: not a JSON object with an id")
        yield _message(fields, where, labelled)


def _chunks(messages: Iterator[Message]) -> Iterator[list[Message]]:
    while chunk := list(islice(messages, CHUNK)):
        yield chunk


# What a classifier reads of a mail, (subject, body) -> (subject, body): bot.mail.text.classifier_input,
# as intake uses it. Handed in by the caller (classify sits below mail), never defaulted, so the
# offline figures are always those of live intake.
Prepare = Callable[[str, str], tuple[str, str]]


def classify_messages(classifier: Classifier, messages: list[Message], *, prepare: Prepare) -> list[Classification]:
    """Each message's result, read as intake reads it."""
    pairs = [prepare(m.subject, m.body) for m in messages]
    many = getattr(classifier, "classify_many", None)
    return many(pairs) if many else [classifier.classify(s, b) for s, b in pairs]


def classify_file(classifier: Classifier, in_path: Path | str, out: TextIO, *, prepare: Prepare) -> int:
    """Write one JSON object per input line: id, label, labels, confidence, language."""
    count = 0
    for chunk in _chunks(read_messages(in_path)):
        for message, result in zip(chunk, classify_messages(classifier, chunk, prepare=prepare)):
            out.write(json.dumps({"id": message.id, "label": result.kind,
                                  "labels": list(result.labels),
                                  "confidence": result.confidence,
                                  "language": result.language}, ensure_ascii=False) + "\n")
        count += len(chunk)
    return count


def evaluate_file(classifier: Classifier, path: Path | str, *, prepare: Prepare) -> Evaluation:
    """Classify a labelled file and score it; languages are the file's where it gives them."""
    gold, predicted, languages, gold_sets, predicted_sets, confidences = [], [], [], [], [], []
    for chunk in _chunks(read_messages(path, labelled=True)):
        for message, result in zip(chunk, classify_messages(classifier, chunk, prepare=prepare)):
            gold.append(message.label)
            predicted.append(result.kind)
            languages.append(message.language or result.language)
            gold_sets.append(message.labels)
            predicted_sets.append(result.labels)
            confidences.append(result.confidence)
    return evaluate(gold, predicted, languages, gold_sets, predicted_sets, confidences)
