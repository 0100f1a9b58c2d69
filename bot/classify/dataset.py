"""Labelled request examples: load and validate JSON Lines, split into train and held-out sets."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.classify import KINDS, PRECEDENCE
from bot.classify.jsonl import json_objects

DATA_DIR = Path(__file__).resolve().parents[2] / "classifiers" / "data"
SOURCE_DIR = DATA_DIR / "source"
TRAIN_FILE = DATA_DIR / "train.jsonl"
HELDOUT_FILE = DATA_DIR / "heldout.jsonl"
# Written apart from the source files, before any model error was studied, and
# never split or trained on: a check that the model generalises.
FRESH_FILE = DATA_DIR / "fresh.jsonl"
# Letters written by others (regulators' templates, open-source generators), ids "pub-<source>-...".
# They are split by source, never by letter: a source is trained on whole or held out whole.
PUBLIC_HELDOUT_FILE = DATA_DIR / "public-heldout.jsonl"
PUBLIC_PREFIX = "pub-"
HELDOUT_SOURCES = frozenset({"pub-goodlly", "pub-ico"})
LANGUAGES = ("en", "zh", "other")
KEYS = ("id", "subject", "body", "label", "labels", "language")
HELDOUT_SHARE = 0.2


class DatasetError(ValueError):
    """A line of a data file is not a valid example; the message names file and line."""


@dataclass(frozen=True)
class Example:
    id: str
    subject: str
    body: str
    label: str
    labels: tuple[str, ...]
    language: str

    def as_json(self) -> str:
        fields = {key: getattr(self, key) for key in KEYS}
        fields["labels"] = list(self.labels)
        return json.dumps(fields, ensure_ascii=False)


def _check(fields: dict, where: str) -> Example:
    if sorted(fields) != sorted(KEYS):
        raise DatasetError(f"{where}: keys must be exactly {', '.join(KEYS)}")
    if not all(isinstance(fields[key], str) for key in KEYS if key != "labels"):
        raise DatasetError(f"{where}: id, subject, body, label and language must be strings")
    labels = fields["labels"]
    if not isinstance(labels, list) or not labels or any(lab not in KINDS for lab in labels):
        raise DatasetError(f"{where}: labels must be a non-empty list of {', '.join(KINDS)}")
    if len(set(labels)) != len(labels) or ("other" in labels and len(labels) > 1):
        raise DatasetError(f"{where}: labels repeat, or mix 'other' with rights")
    primary = "other" if labels == ["other"] else next(r for r in PRECEDENCE if r in labels)
    if fields["label"] != primary:
        raise DatasetError(f"{where}: label {fields['label']!r} is not the primary of {labels}")
    if fields["language"] not in LANGUAGES:
        raise DatasetError(f"{where}: language must be one of {', '.join(LANGUAGES)}")
    ordered = ("other",) if primary == "other" else tuple(r for r in PRECEDENCE if r in labels)
    return Example(fields["id"], fields["subject"], fields["body"], primary, ordered,
                   fields["language"])


def read_examples(path: Path | str) -> list[Example]:
    """Every example in one JSON Lines file; blank lines are skipped."""
    return [_check(fields, where) for where, fields in json_objects(path, DatasetError)]


def load_source(source_dir: Path | str = SOURCE_DIR) -> list[Example]:
    """All examples under `source_dir`, files in name order; ids must be unique."""
    examples, seen = [], set()
    for path in sorted(Path(source_dir).glob("*.jsonl")):
        for example in read_examples(path):
            if example.id in seen:
                raise DatasetError(f"{path}: id {example.id!r} appears twice")
            seen.add(example.id)
            examples.append(example)
    return examples


def _rank(example_id: str) -> str:
    # A hash of the id alone: where an example lands never depends on file
    # order, on the other examples or on Python's per-process hash seed.
    return hashlib.sha256(example_id.encode("utf-8")).hexdigest()


def source_of(example: Example) -> str | None:
    """The public source an example was taken from ("pub-ico"), or None for our own examples."""
    if not example.id.startswith(PUBLIC_PREFIX):
        return None
    return "-".join(example.id.split("-")[:2])


def public_heldout(examples: Iterable[Example]) -> list[Example]:
    """The examples of the public sources reserved for holding out, by id."""
    return sorted((e for e in examples if source_of(e) in HELDOUT_SOURCES), key=lambda e: e.id)


def split(examples: Iterable[Example], share: float = HELDOUT_SHARE
          ) -> tuple[list[Example], list[Example]]:
    """(train, held-out): in every (label, language) group, the `share` with the lowest id hashes.

    Stratifying keeps rare groups (a French correction) represented in both.
    Adding examples later moves at most the boundary example of a group.
    Public sources are not split: the trained ones go to train whole, the reserved ones to
    neither (`public_heldout`).
    """
    examples = list(examples)
    public = [e for e in examples if source_of(e) and source_of(e) not in HELDOUT_SOURCES]
    groups = defaultdict(list)
    for example in examples:
        if source_of(example) is None:
            groups[(example.label, example.language)].append(example)
    heldout_ids = set()
    for group in groups.values():
        group.sort(key=lambda e: _rank(e.id))
        heldout_ids.update(e.id for e in group[:round(share * len(group))])
    everything = [e for group in groups.values() for e in group] + public
    everything.sort(key=lambda e: e.id)
    return ([e for e in everything if e.id not in heldout_ids],
            [e for e in everything if e.id in heldout_ids])


def write_examples(examples: Iterable[Example], path: Path | str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for example in examples:
            out.write(example.as_json() + "\n")


def write_split(source_dir: Path | str = SOURCE_DIR, train_file: Path | str = TRAIN_FILE,
                heldout_file: Path | str = HELDOUT_FILE,
                public_file: Path | str = PUBLIC_HELDOUT_FILE) -> tuple[int, int, int]:
    """Split the source files into train, held-out and public held-out files; returns their sizes."""
    examples = load_source(source_dir)
    train, heldout = split(examples)
    reserved = public_heldout(examples)
    write_examples(train, train_file)
    write_examples(heldout, heldout_file)
    write_examples(reserved, public_file)
    return len(train), len(heldout), len(reserved)
