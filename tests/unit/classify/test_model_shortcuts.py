"""The trained classifier's shortcuts answer exactly as spaCy's pipeline call and plain counting do."""

from collections import Counter
from functools import cache

import pytest
import spacy

from bot.classify import MODEL_DIR
from bot.classify.dataset import FRESH_FILE, HELDOUT_FILE, read_examples
from bot.classify.language import FOREIGN_STOP_WORD_LANGUAGES, WORD, _looks_english, _spacy_stop_words
from bot.classify.model import CLAUSE_BREAKS, CUE_WINDOW, TOKEN, TrainedClassifier, _cue_at, cue_scopes, prepare
from bot.mail.text import classifier_input

pytestmark = pytest.mark.skipif(not (MODEL_DIR / "meta.json").is_file(), reason="no trained model")


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, str]]:
    return [classifier_input(e.subject, e.body) for path in (HELDOUT_FILE, FRESH_FILE)
            for e in read_examples(path)]


@pytest.fixture(scope="module")
def classifier() -> TrainedClassifier:
    return TrainedClassifier()


def test_scores_and_results_are_those_of_the_whole_pipeline_call(classifier, messages):
    # A pipeline loaded as spaCy loads it, lexical attributes and all, run through nlp().
    pipeline = spacy.load(MODEL_DIR)
    for subject, body in messages:
        text = prepare(subject, body)
        cats = dict(pipeline(text).cats)
        assert classifier._scores(text) == cats
        expected = classifier._decide(cats, text, classifier.classify(subject, body).language)
        assert classifier.classify(subject, body) == expected


def test_classifying_many_at_once_gives_each_one_result_exactly(classifier, messages):
    assert classifier.classify_many(messages, batch_size=64) == [classifier.classify(*m) for m in messages]


def _cue_scopes_one_token_at_a_time(tokens: list[str]) -> list[str]:
    marked, i = [], 0
    while i < len(tokens):
        if (found := _cue_at(tokens, i)) is None:
            i += 1
            continue
        marker, length = found
        i += length
        for token in tokens[i:i + CUE_WINDOW]:
            if token in CLAUSE_BREAKS:
                break
            marked.append(marker + token)
    return marked


@cache
def _spacy_stop_word_sets() -> tuple[frozenset[str], list[frozenset[str]]]:
    return _spacy_stop_words("en"), [_spacy_stop_words(code) for code in FOREIGN_STOP_WORD_LANGUAGES]


def _looks_english_by_counting_each_language(words: list[str]) -> bool:
    english, foreign = _spacy_stop_word_sets()
    lowered = [word.lower() for word in words]
    if not any(word in english for word in lowered):
        return not any(word in stops for word in lowered for stops in foreign)
    ours = sum(word in english for word in lowered)
    return all(sum(word in stops and word not in english for word in lowered) <= ours for stops in foreign)


def test_cue_scopes_and_english_test_match_their_plain_definitions(messages):
    checked = Counter()
    for subject, body in messages + [("", "我不需要要是删除, do not delete; 不要删除我的账户 don't")]:
        tokens = TOKEN.findall(prepare(subject, body))
        assert cue_scopes(tokens) == _cue_scopes_one_token_at_a_time(tokens)
        words = WORD.findall(f"{subject}\n{body}")
        english = _looks_english(words)
        assert english == _looks_english_by_counting_each_language(words)
        checked[english] += 1
    assert checked[True] and checked[False]   # both answers were compared


def _novel_mail(n: int) -> tuple[str, str]:
    """A request full of words no model has seen: order numbers, phone numbers, addresses."""
    return "Delete my account", (f"Order zq{n}x{n * 7} placed from 139{n:08d}, "
                                 f"my address is user{n}.k{n * 3}@example.com; please erase it all.")


def test_a_long_running_classifier_keeps_no_strings_from_the_mail_it_reads(classifier):
    # spaCy adds every new word to the shared StringStore; a bot that runs for months would keep
    # every phone number and address it ever read, and grow without bound.
    strings = classifier.nlp.vocab.strings
    classifier.classify(*_novel_mail(0))
    before = len(strings)
    results = [classifier.classify(*_novel_mail(n)) for n in range(1, 200)]
    results += classifier.classify_many([_novel_mail(n) for n in range(200, 400)])
    assert len(strings) == before
    assert "13900000150" not in strings and "user150.k450" not in strings
    assert {r.kind for r in results} == {"deletion"}
