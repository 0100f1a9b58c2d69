"""Calibrated confidence: the isotonic map, its file beside the model, and the tables `supportbot eval` prints."""
from __future__ import annotations

import re
import shutil

from bot.classify import MODEL_DIR, Classification
from bot.classify.calibration import BINS, THRESHOLDS, Calibration, coverage_table, isotonic
from bot.classify.model import TrainedClassifier
from bot.classify.training import calibrate
from bot.mail.text import classifier_input
from tests.unit.cli.test_classify_commands import MESSAGES, run_bot, write_lines


def test_isotonic_fit_is_non_decreasing_and_never_certain():
    points = [(0.1, False), (0.2, True), (0.3, False), (0.6, True), (0.7, False), (0.9, True),
              *[(0.99, True)] * 50, *[(1.0, True)] * 3]
    xs, ys = isotonic(points)
    assert xs == sorted(xs) and ys == sorted(ys)
    assert all(0.0 < y < 1.0 for y in ys)
    assert isotonic(list(reversed(points))) == (xs, ys)   # order of the data does not matter


def test_calibration_changes_confidence_only_and_round_trips(tmp_path):
    result = Classification("deletion", ("deletion", "access"), 0.95, "en")
    calibration = Calibration({"right": ([0.5, 1.0], [0.4, 0.8]), "other": ([0.0, 1.0], [0.1, 0.9])})
    calibrated = calibration(result)
    assert (calibrated.kind, calibrated.labels, calibrated.language) == ("deletion", ("deletion", "access"), "en")
    assert calibrated.confidence == 0.76
    assert calibration(Classification("other", ("other",), 0.5, "zh")).confidence == 0.5
    calibration.save(tmp_path)
    assert Calibration.load(tmp_path) == calibration
    assert Calibration.load(tmp_path / "missing") is None


def test_the_model_reads_its_calibration_and_fits_it_reproducibly(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model)
    labelled = write_lines(tmp_path / "labelled.jsonl", MESSAGES * 4)
    first = calibrate(model, labelled, prepare=classifier_input).read_bytes()
    assert calibrate(model, labelled, prepare=classifier_input).read_bytes() == first
    raw, calibrated = TrainedClassifier(model, calibrated=False), TrainedClassifier(model)
    for message in MESSAGES:
        before = raw.classify(message["subject"], message["body"])
        after = calibrated.classify(message["subject"], message["body"])
        assert after == calibrated.calibration(before)
        assert after.labels == before.labels


def test_coverage_never_rises_with_the_threshold():
    pairs = [(c / 100, c % 7 != 0) for c in range(101)]
    shares = [share for _, share, _ in coverage_table(pairs)]
    assert shares == sorted(shares, reverse=True) and shares[0] <= 1.0


def test_eval_prints_calibration_and_coverage_tables(tmp_path):
    write_lines(tmp_path / "labelled.jsonl", MESSAGES)
    done = run_bot(tmp_path, "eval", "labelled.jsonl")
    assert done.returncode == 0, done.stderr
    calibration_part = done.stdout.split("calibration (")[1].split("coverage (")[0]
    bins = re.findall(r"^(\d\.\d\d)-(\d\.\d\d)\s+(\d+)\s+(\d\.\d{3})$", calibration_part, re.M)
    assert [(float(lo), float(hi)) for lo, hi, _, _ in bins] == list(zip(BINS, BINS[1:]))
    assert sum(int(count) for _, _, count, _ in bins) == len(MESSAGES)
    coverage_part = done.stdout.split("coverage (")[1]
    rows = re.findall(r"^\s+(\d\.\d\d)\s+(\d\.\d{3})\s+(\d\.\d{3})$", coverage_part, re.M)
    assert [float(t) for t, _, _ in rows] == list(THRESHOLDS)
    shares = [float(share) for _, share, _ in rows]
    assert shares == sorted(shares, reverse=True)
    assert all(0.0 <= float(right) <= 1.0 for _, _, right in rows)
