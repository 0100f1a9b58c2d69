"""`supportbot classify-file` and `supportbot eval`, run end to end with no config file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.classify import KINDS

REPO = Path(__file__).resolve().parents[3]

MESSAGES = [
    {"id": "m1", "subject": "", "body": "Please delete my account and all my data.", "label": "deletion",
     "language": "en"},
    {"id": "m2", "subject": "数据", "body": "请把你们保存的我的个人信息发一份给我。", "label": "access",
     "language": "zh"},
    {"id": 3, "subject": "refund", "body": "I was charged twice, please refund the second payment.",
     "label": "other", "language": "en"},
    {"id": "m4", "subject": "", "body": "怎么删除我发的动态？", "label": "other", "language": "zh"},
    {"id": "m5", "subject": "", "body": "My phone number on file is wrong, please update it to 138 0000 1234.",
     "label": "correction", "language": "en"},
]


def run_bot(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def write_lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


@pytest.fixture
def workdir(tmp_path):
    assert not (tmp_path / "config.toml").exists()
    return tmp_path


def test_classify_file_writes_one_result_per_message(workdir):
    unlabelled = [{k: m[k] for k in ("id", "subject", "body")} for m in MESSAGES]
    write_lines(workdir / "in.jsonl", unlabelled)
    done = run_bot(workdir, "classify-file", "in.jsonl", "--out", "out.jsonl")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (workdir / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == ["m1", "m2", 3, "m4", "m5"]
    for row, message in zip(rows, MESSAGES):
        assert set(row) == {"id", "label", "labels", "confidence", "language"}
        assert row["label"] in KINDS and row["labels"][0] == row["label"]
        assert 0.0 <= row["confidence"] <= 1.0
        assert row["language"] == message["language"]
    assert [row["label"] for row in rows] == [m["label"] for m in MESSAGES]


def test_classify_file_with_the_rules_and_to_standard_output(workdir):
    write_lines(workdir / "in.jsonl", [{"id": "a", "subject": "", "body": "Please delete my account."}])
    done = run_bot(workdir, "classify-file", "in.jsonl", "--classifier", "rules")
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["id"] == "a" and row["label"] == "deletion"


def test_classify_file_rejects_a_bad_line_with_its_number(workdir):
    (workdir / "in.jsonl").write_text('{"id": 1, "subject": "", "body": "hi"}\nnot json\n')
    done = run_bot(workdir, "classify-file", "in.jsonl", "--out", "out.jsonl")
    assert done.returncode == 2
    assert "in.jsonl:2" in done.stderr


def test_eval_prints_per_class_scores_languages_and_confusion(workdir):
    write_lines(workdir / "labelled.jsonl", MESSAGES)
    done = run_bot(workdir, "eval", "labelled.jsonl")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for kind in KINDS:
        assert any(line.startswith(kind) for line in out.splitlines())
    assert "macro-F1   1.000" in out
    assert "accuracy[en] 1.000  (3/3)" in out
    assert "accuracy[zh] 1.000  (2/2)" in out
    assert "confusion" in out
    deletion_row = next(line for line in out.split("confusion")[1].splitlines() if line.startswith("deletion"))
    assert deletion_row.split()[1:] == ["0", "0", "1", "0"]


def test_eval_counts_mistakes(workdir):
    wrong = [dict(MESSAGES[0], label="access"), MESSAGES[3]]
    write_lines(workdir / "labelled.jsonl", wrong)
    done = run_bot(workdir, "eval", "labelled.jsonl")
    assert done.returncode == 0, done.stderr
    assert "accuracy   0.500  (2 messages)" in done.stdout
    access_row = next(line for line in done.stdout.split("confusion")[1].splitlines() if line.startswith("access"))
    assert access_row.split()[1:] == ["0", "0", "1", "0"]


def test_eval_needs_a_label(workdir):
    write_lines(workdir / "labelled.jsonl", [{"id": 1, "subject": "", "body": "hello"}])
    done = run_bot(workdir, "eval", "labelled.jsonl")
    assert done.returncode == 2
    assert "label" in done.stderr
