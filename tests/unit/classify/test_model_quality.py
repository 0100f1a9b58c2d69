"""The trained classifier: held-out quality floors, near misses, negations and multi-right requests."""

import hashlib
import math
import re
from functools import partial
from pathlib import Path

import pytest

from bot.classify import MODEL_DIR, Classifier
from bot.classify.loading import load_classifier
from bot.classify.batch import evaluate_file
from bot.mail.text import classifier_input
from bot.classify.dataset import (FRESH_FILE, HELDOUT_FILE, HELDOUT_SOURCES, PUBLIC_HELDOUT_FILE,
                                  TRAIN_FILE, load_source, public_heldout, read_examples, source_of,
                                  split)
from bot.classify.model import TrainedClassifier, prepare
from bot.classify.training import train
from bot.config import TicketSettings
from bot.mail.parse import parse_message
from bot.mail.rules import machine_mail_reason

# Regression floors, a little under what the committed model with its signals measures
# (macro-F1 0.925, en 0.933, zh 0.966 on 944 held-out examples; the target is 0.92).
MACRO_F1_FLOOR = 0.915
LANGUAGE_FLOORS = {"en": 0.92, "zh": 0.955}
# The fresh set (classifiers/data/fresh.jsonl, 299 examples written apart from
# the training data): macro-F1 0.971, en 0.966, zh 0.977.
FRESH_MACRO_F1_FLOOR = 0.955
FRESH_LANGUAGE_FLOORS = {"en": 0.96, "zh": 0.965}
# At the default triage threshold ([tickets] triage_threshold, 0.85): share handled without triage and share right
# among them; held-out 0.849 / 0.973, fresh 0.936 / 0.993 (the bar: 0.80 / 0.97).
TRIAGE_THRESHOLD = TicketSettings().triage_threshold
COVERAGE_FLOORS = {"heldout": (0.82, 0.97), "fresh": (0.90, 0.98), "public": (0.55, 0.95)}
# Letters written by others (classifiers/README.md credits them), held out by whole source:
# 13 of 17 right (0.765); at the triage threshold 10 handled (0.588), all of them right.
PUBLIC_ACCURACY_FLOOR = 0.75


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """The committed model, or one trained now when the checkout has none."""
    if (MODEL_DIR / "meta.json").is_file():
        return MODEL_DIR
    output = tmp_path_factory.mktemp("model") / "model"
    train(output_dir=output)
    return output


@pytest.fixture(scope="module")
def classifier(model_dir):
    return load_classifier("model", model_path=model_dir)


def test_trained_classifier_is_the_default_and_a_classifier(classifier):
    assert isinstance(classifier, Classifier)
    if (MODEL_DIR / "meta.json").is_file():
        assert type(load_classifier()).__name__ == "TrainedClassifier"


def test_heldout_split_is_what_the_split_function_makes_and_disjoint_from_training():
    train_examples, heldout = split(load_source())
    assert [e.id for e in read_examples(TRAIN_FILE)] == [e.id for e in train_examples]
    assert [e.id for e in read_examples(HELDOUT_FILE)] == [e.id for e in heldout]
    assert not {e.id for e in train_examples} & {e.id for e in heldout}
    texts = {(e.subject, e.body) for e in train_examples}
    assert not [e.id for e in heldout if (e.subject, e.body) in texts]


def test_public_sources_are_split_whole_and_reserved_ones_never_trained_on():
    examples = load_source()
    train_examples, heldout = split(examples)
    reserved = public_heldout(examples)
    assert [e.id for e in read_examples(PUBLIC_HELDOUT_FILE)] == [e.id for e in reserved]
    assert {source_of(e) for e in reserved} == set(HELDOUT_SOURCES)
    assert not [e.id for e in train_examples + heldout if source_of(e) in HELDOUT_SOURCES]
    assert not [e.id for e in heldout if source_of(e)]   # a trained source goes to train whole
    texts = {(e.subject, e.body) for e in train_examples}
    assert not [e.id for e in reserved if (e.subject, e.body) in texts]


def test_split_is_stratified_by_label_and_language():
    train_examples, heldout = split(load_source())
    train_examples = [e for e in train_examples if source_of(e) is None]
    for label in ("access", "correction", "deletion", "other"):
        for language in ("en", "zh"):
            held = sum(1 for e in heldout if (e.label, e.language) == (label, language))
            total = held + sum(1 for e in train_examples if (e.label, e.language) == (label, language))
            assert abs(held - 0.2 * total) <= 1, (label, language)


def test_heldout_quality_floor(classifier):
    result = evaluate_file(classifier, HELDOUT_FILE, prepare=classifier_input)
    assert result.total >= 400
    assert result.macro_f1 >= MACRO_F1_FLOOR, f"macro-F1 {result.macro_f1:.3f}"
    for language, floor in LANGUAGE_FLOORS.items():
        accuracy = result.language_accuracy(language)
        assert accuracy >= floor, f"{language} accuracy {accuracy:.3f}"


def test_fresh_set_is_apart_from_the_source_data():
    fresh = read_examples(FRESH_FILE)
    source = load_source()
    assert len(fresh) >= 250
    assert not {e.id for e in fresh} & {e.id for e in source}
    texts = {(e.subject, e.body) for e in source}
    assert not [e.id for e in fresh if (e.subject, e.body) in texts]


def test_fresh_set_quality_floor(classifier):
    result = evaluate_file(classifier, FRESH_FILE, prepare=classifier_input)
    assert result.macro_f1 >= FRESH_MACRO_F1_FLOOR, f"macro-F1 {result.macro_f1:.3f}"
    for language, floor in FRESH_LANGUAGE_FLOORS.items():
        accuracy = result.language_accuracy(language)
        assert accuracy >= floor, f"{language} accuracy {accuracy:.3f}"


def test_public_heldout_quality_floor(classifier):
    result = evaluate_file(classifier, PUBLIC_HELDOUT_FILE, prepare=classifier_input)
    assert result.total >= 15
    assert result.accuracy >= PUBLIC_ACCURACY_FLOOR, f"accuracy {result.accuracy:.3f}"


@pytest.mark.parametrize("name, path", [("heldout", HELDOUT_FILE), ("fresh", FRESH_FILE),
                                        ("public", PUBLIC_HELDOUT_FILE)])
def test_mail_handled_without_triage_is_right(classifier, name, path):
    pairs = evaluate_file(classifier, path, prepare=classifier_input).confidences
    kept = [right for confidence, right in pairs if confidence >= TRIAGE_THRESHOLD]
    coverage_floor, accuracy_floor = COVERAGE_FLOORS[name]
    assert len(kept) / len(pairs) >= coverage_floor, f"coverage {len(kept) / len(pairs):.3f}"
    assert sum(kept) / len(kept) >= accuracy_floor, f"accuracy {sum(kept) / len(kept):.3f}"


# Mail from other projects' test suites (../shared/corpora, never trained on) that is not machine
# mail: spam, newsletters, replies, technical mail. None of it asks ESL for a right.
CORPUS_ASKED_CEILING = 0.05   # the committed model: 8 of 198 (4.0%); 28 (14%) before off-topic data


@pytest.mark.corpora
def test_mail_from_elsewhere_is_other(classifier):
    """What the pipeline would classify (subject, new text) for every person's mail in the corpora."""
    from tests.unit.mail.test_corpora import corpus_files  # noqa: PLC0415 - skipped cleanly when absent
    texts = []
    for path in corpus_files():
        msg = parse_message(path.read_bytes())
        if machine_mail_reason(msg) is None:
            texts.append((msg.normalized_subject, msg.new_text or msg.text))
    if len(texts) < 100:
        pytest.skip("../shared/corpora is absent")
    asked = [c for c in classifier.classify_many(texts) if c.kind != "other"]
    assert len(asked) / len(texts) <= CORPUS_ASKED_CEILING, f"{len(asked)} of {len(texts)} asked for a right"


def case(body, *labels, subject=""):
    return pytest.param(subject, body, labels, id=(subject + " | " + body)[:50])


CASES = [
    case("Please delete my account and all of my personal data.", "deletion"),
    case("I would like a copy of the personal information you hold about me.", "access"),
    case("My date of birth on my profile is wrong, please correct it to 12 May 1990.", "correction"),
    case("I don't use the app any more. Please erase my account and data.", "deletion",
         subject="feedback"),
    case("Please send me a copy of my data, and afterwards delete my account.",
         "deletion", "access"),
    case("Please correct my surname to Walker and send me a copy of everything you hold on me.",
         "access", "correction"),
    case("Do not delete my account, I am still using it.", "other"),
    case("I accidentally deleted my account yesterday, can you restore it?", "other"),
    case("How do I delete a photo from my album?", "other"),
    case("How do I delete a comment I posted?", "other", subject="delete"),
    case("How can I change my nickname in the settings?", "other"),
    case("Please stop sending me marketing emails.", "other"),
    case("I want to cancel my VIP subscription, but keep my account.", "other"),
    case("I forgot my password and the verification code never arrives.", "other"),
    case("请删除我的账号和所有个人信息。", "deletion"),
    case("請刪除我的帳號及所有個人資料。", "deletion"),
    case("请把你们保存的我的个人信息发一份给我。", "access"),
    case("我的手机号登记错了，请帮我更正为 138 0000 1234。", "correction"),
    case("先把我的数据导出给我，然后注销我的账号。", "deletion", "access"),
    case("请更正我的出生日期，并提供一份我的个人信息副本。", "access", "correction"),
    case("请不要注销我的账号，我还在用。", "other"),
    case("我不小心把账号注销了，能恢复吗？", "other"),
    case("怎么删除我发的动态？", "other"),
    case("昵称在哪里修改？", "other"),
    case("请不要再给我发营销短信了。", "other"),
    case("怎么取消会员自动续费？账号我还要用。", "other"),
    case("收不到验证码，登录不了。", "other"),
]


@pytest.mark.parametrize("subject, body, labels", CASES)
def test_individual_messages(classifier, subject, body, labels):
    assert classifier.classify(subject, body).labels == labels


def test_language_and_batch_agree_with_single_messages(classifier):
    messages = [("", "Please delete my account."), ("", "请删除我的账号"), ("Hallo", "Bitte löschen Sie mein Konto.")]
    assert [c.language for c in classifier.classify_many(messages)] == ["en", "zh", "other"]
    assert classifier.classify_many(messages) == [classifier.classify(s, b) for s, b in messages]


def test_contractions_typed_with_typographic_apostrophes_read_as_straight_ones(classifier):
    """Many mail programs type "don’t", "I’d"; the training data has only "'" (before the fix,
    103 of the 166 held-out mails with a contraction scored differently typed so, and 3 changed label)."""
    curly = partial(re.compile(r"'(?=(?:t|s|m|d|ll|re|ve)\b)").sub, "’")
    examples = [e for e in read_examples(HELDOUT_FILE) + read_examples(FRESH_FILE) if curly(e.body) != e.body]
    assert len(examples) >= 100
    assert [classifier.classify(e.subject, curly(e.body)) for e in examples] == \
        [classifier.classify(e.subject, e.body) for e in examples]


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != "meta.json"):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_training_is_reproducible(tmp_path):
    few = {"training.max_epochs": 2, "training.joined_examples": 50, "training.soup": 2}
    train_file = tmp_path / "train.jsonl"
    train_file.write_text("".join(e.as_json() + "\n" for e in read_examples(TRAIN_FILE)[::8]),
                          encoding="utf-8")
    digests = {_digest(train(train_file, tmp_path / name, overrides=few, seed=seed).output)
               for name, seed in (("a", 3), ("b", 3))}
    other_seed = _digest(train(train_file, tmp_path / "c", overrides=few, seed=4).output)
    assert len(digests) == 1
    assert other_seed not in digests


def test_training_averages_the_weights_of_one_model_a_seed(tmp_path):
    few = {"training.max_epochs": 2, "training.joined_examples": 50}
    train_file = tmp_path / "train.jsonl"
    examples = read_examples(TRAIN_FILE)[::8]
    train_file.write_text("".join(e.as_json() + "\n" for e in examples), encoding="utf-8")
    alone = [TrainedClassifier(train(train_file, tmp_path / f"seed{seed}", overrides={**few, "training.soup": 1},
                                     seed=seed).output, calibrated=False, hybrid=False) for seed in (5, 6)]
    soup = TrainedClassifier(train(train_file, tmp_path / "soup", overrides={**few, "training.soup": 2},
                                   seed=5).output, calibrated=False, hybrid=False)
    # A linear model's averaged weights score the mean of the two models' logits.
    for e in examples[:40]:
        text = prepare(e.subject, e.body)
        logits = [{k: math.log(p / (1 - p)) for k, p in model._scores(text).items()} for model in alone]
        for kind, score in soup._scores(text).items():
            mean = (logits[0][kind] + logits[1][kind]) / 2
            assert score == pytest.approx(1 / (1 + math.exp(-mean)), abs=1e-4)
