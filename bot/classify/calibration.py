"""Confidence that means what it says: isotonic maps from raw confidence to the share right, and their tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy

from bot.classify import Classification

FILE_NAME = "calibration.json"
# A raw "other" score and a right's score are different quantities: one map each.
GROUPS = ("right", "other")
BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def _group(kind: str) -> str:
    return "other" if kind == "other" else "right"


def isotonic(points: Iterable[tuple[float, bool]]) -> tuple[list[float], list[float]]:
    """Knots (x, y) of the non-decreasing fit of "right" on raw confidence (pool adjacent violators).

    Each block's share right is shrunk by one half-right pseudo-count, so a block of a
    few right answers never claims certainty (and the shrunk shares are kept non-decreasing).
    """
    blocks: list[list[float]] = []   # [sum of x, number right, count]
    for x, right in sorted(points):
        blocks.append([x, float(right), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last)]
    xs = [round(sx / n, 6) for sx, _, n in blocks]
    shrunk = numpy.maximum.accumulate([(right + 0.5) / (n + 1.0) for _, right, n in blocks])
    return xs, [round(float(y), 6) for y in shrunk]


@dataclass(frozen=True)
class Calibration:
    knots: dict[str, tuple[list[float], list[float]]]   # group -> (raw confidences, share right)

    @classmethod
    def fit(cls, results: Sequence[Classification], gold: Sequence[str]) -> Calibration:
        knots = {}
        for group in GROUPS:
            points = [(r.confidence, r.kind == g) for r, g in zip(results, gold) if _group(r.kind) == group]
            knots[group] = isotonic(points) if points else ([0.0, 1.0], [0.0, 1.0])
        return cls(knots)

    def __call__(self, result: Classification) -> Classification:
        xs, ys = self.knots[_group(result.kind)]
        return replace(result, confidence=round(float(numpy.interp(result.confidence, xs, ys)), 4))

    def save(self, model_dir: Path | str) -> Path:
        path = Path(model_dir) / FILE_NAME
        fields = {group: {"raw": xs, "right": ys} for group, (xs, ys) in self.knots.items()}
        path.write_text(json.dumps({"method": "isotonic", **fields}, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, model_dir: Path | str) -> Calibration | None:
        """The model's calibration, or None when it has none (confidences stay raw)."""
        path = Path(model_dir) / FILE_NAME
        if not path.is_file():
            return None
        fields = json.loads(path.read_text(encoding="utf-8"))
        return cls({group: (fields[group]["raw"], fields[group]["right"]) for group in GROUPS})


def calibration_table(pairs: Sequence[tuple[float, bool]], bins: Sequence[float] = BINS
                      ) -> list[tuple[float, float, int, float]]:
    """(low, high, count, share right) of the results whose confidence falls in each bin."""
    rows = []
    for n, (low, high) in enumerate(zip(bins, bins[1:])):
        last = n == len(bins) - 2
        right = [ok for c, ok in pairs if low <= c < high or (last and c == high)]
        rows.append((low, high, len(right), sum(right) / len(right) if right else 0.0))
    return rows


def coverage_table(pairs: Sequence[tuple[float, bool]], thresholds: Sequence[float] = THRESHOLDS
                   ) -> list[tuple[float, float, float]]:
    """(threshold, share handled without triage, share right among those) per threshold."""
    rows = []
    for threshold in thresholds:
        kept = [ok for c, ok in pairs if c >= threshold]
        rows.append((threshold, len(kept) / len(pairs) if pairs else 0.0,
                     sum(kept) / len(kept) if kept else 0.0))
    return rows
