"""Score predicted request kinds against gold labels: per-class P/R/F1, macro-F1, confusion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.classify import KINDS
from bot.classify.calibration import calibration_table, coverage_table


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int          # gold examples of the class


@dataclass(frozen=True)
class Evaluation:
    total: int
    per_class: dict[str, ClassScore]
    macro_f1: float
    accuracy: float
    # language -> (correct, total); the language is the gold one where given.
    by_language: dict[str, tuple[int, int]]
    confusion: dict[tuple[str, str], int]   # (gold, predicted) -> count
    exact_labels: float   # share whose whole label set matches, among...
    label_sets: int       # ...the items whose gold label set is known
    # (confidence, primary label right) per item, for the calibration and coverage tables.
    confidences: tuple[tuple[float, bool], ...] = ()

    def language_accuracy(self, language: str) -> float:
        correct, total = self.by_language.get(language, (0, 0))
        return correct / total if total else 0.0


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def evaluate(gold: Sequence[str], predicted: Sequence[str], languages: Sequence[str],
             gold_sets: Sequence[tuple[str, ...] | None] = (),
             predicted_sets: Sequence[tuple[str, ...]] = (),
             confidences: Sequence[float] = ()) -> Evaluation:
    """Compare primary labels (and, where given, whole label sets) item by item."""
    if not len(gold) == len(predicted) == len(languages):
        raise ValueError("gold, predicted and languages differ in length")
    confusion = Counter(zip(gold, predicted))
    per_class = {}
    for kind in KINDS:
        hits = confusion[(kind, kind)]
        precision = _ratio(hits, sum(1 for p in predicted if p == kind))
        recall = _ratio(hits, sum(1 for g in gold if g == kind))
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class[kind] = ClassScore(precision, recall, f1, sum(1 for g in gold if g == kind))
    # Macro-F1 over the classes present in gold or predictions, so a file of
    # requests only is not punished for a class nobody could get right.
    present = [k for k in KINDS if per_class[k].support or k in predicted]
    by_language: dict[str, list[int]] = {}
    for g, p, language in zip(gold, predicted, languages):
        counts = by_language.setdefault(language, [0, 0])
        counts[0] += g == p
        counts[1] += 1
    pairs = [(g, p) for g, p in zip(gold_sets, predicted_sets) if g is not None]
    return Evaluation(
        total=len(gold), per_class=per_class,
        macro_f1=_ratio(sum(per_class[k].f1 for k in present), len(present)),
        accuracy=_ratio(sum(g == p for g, p in zip(gold, predicted)), len(gold)),
        by_language={lang: (c, t) for lang, (c, t) in sorted(by_language.items())},
        confusion=dict(confusion),
        exact_labels=_ratio(sum(set(g) == set(p) for g, p in pairs), len(pairs)),
        label_sets=len(pairs),
        confidences=tuple((c, g == p) for c, g, p in zip(confidences, gold, predicted)))


def format_report(result: Evaluation) -> str:
    """The evaluation as a plain-text table, for a terminal."""
    lines = [f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for kind, score in result.per_class.items():
        lines.append(f"{kind:<12}{score.precision:>10.3f}{score.recall:>10.3f}"
                     f"{score.f1:>10.3f}{score.support:>10}")
    lines += ["", f"macro-F1   {result.macro_f1:.3f}",
              f"accuracy   {result.accuracy:.3f}  ({result.total} messages)"]
    if result.label_sets:
        lines.append(f"label sets {result.exact_labels:.3f}  (every right asked for, exactly)")
    for language, (correct, total) in result.by_language.items():
        lines.append(f"accuracy[{language}] {correct / total:.3f}  ({correct}/{total})")
    lines += ["", "confusion (rows: gold, columns: predicted)",
              f"{'':<12}" + "".join(f"{kind:>12}" for kind in KINDS)]
    for gold in KINDS:
        lines.append(f"{gold:<12}" + "".join(f"{result.confusion.get((gold, p), 0):>12}"
                                             for p in KINDS))
    if result.confidences:
        lines += ["", "calibration (confidence bin: messages, share right)"]
        lines += [f"{low:.2f}-{high:.2f} {count:>8} {right:>8.3f}"
                  for low, high, count, right in calibration_table(result.confidences)]
        lines += ["", "coverage (threshold: share handled without triage, share right among them)"]
        lines += [f"{threshold:>9.2f} {share:>8.3f} {right:>8.3f}"
                  for threshold, share, right in coverage_table(result.confidences)]
    return "\n".join(lines)
