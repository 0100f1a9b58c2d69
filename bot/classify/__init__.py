"""Request classification: which privacy rights an incoming message asks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

KINDS = ("access", "correction", "deletion", "other")
# The primary label when one message asks for several rights: deletion is the
# most consequential (and usually time-critical), and whoever deletes must
# first answer an access request for the same data.
PRECEDENCE = ("deletion", "access", "correction")
RIGHTS = PRECEDENCE
# A right is asked for when its score reaches this; shared by every classifier.
THRESHOLD = 0.5


@dataclass(frozen=True)
class Classification:
    kind: str                  # primary label, one of KINDS
    labels: tuple[str, ...]    # every right asked for, in PRECEDENCE order; ("other",) when none
    confidence: float          # 0..1, for the primary label
    language: str              # "en", "zh" or "other" (see bot.classify.language)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if not self.labels or self.labels[0] != self.kind:
            raise ValueError("labels must start with the primary kind")
        expected = ("other",) if self.kind == "other" else tuple(
            right for right in PRECEDENCE if right in self.labels)
        if self.labels != expected:
            raise ValueError(f"labels {self.labels!r} are not in PRECEDENCE order")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence!r} is outside 0..1")


@runtime_checkable
class Classifier(Protocol):
    def classify(self, subject: str, body: str) -> Classification: ...


def classification_from_scores(scores: Mapping[str, float], language: str,
                               threshold: float = THRESHOLD) -> Classification:
    """Decide labels from per-kind scores in 0..1, as rules or a textcat give them.

    Every right scoring at least `threshold` is a label; the primary one is the
    first in PRECEDENCE.  With none, the kind is "other" and its confidence is
    scores["other"] (or, when absent, 1 minus the best right's score).
    """
    labels = tuple(right for right in PRECEDENCE if scores.get(right, 0.0) >= threshold)
    if labels:
        return Classification(labels[0], labels, round(scores[labels[0]], 4), language)
    best_right = max((scores.get(right, 0.0) for right in RIGHTS), default=0.0)
    other = scores.get("other", 1.0 - best_right)
    return Classification("other", ("other",), round(other, 4), language)


# Where `supportbot train` writes the trained pipeline.
MODEL_DIR = Path(__file__).resolve().parents[2] / "classifiers" / "model"


def default_kind() -> str:
    """The trained model once `supportbot train` has built one, the rules until then."""
    return "model" if (MODEL_DIR / "meta.json").is_file() else "rules"
