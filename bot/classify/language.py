"""Offline language guess for a message: "zh", "en" or "other"."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from functools import cache
from pathlib import Path

import spacy

# Callers answer in one of two languages: "zh" gets Chinese, and both "en" and
# "other" get English (the lingua franca for everyone we cannot read).
REPLY_LANGUAGES = ("zh", "en")

# Stop-word lists of the Latin-script languages a mistaken "en" is most likely
# to come from; spaCy ships them.
FOREIGN_STOP_WORD_LANGUAGES = ("fr", "de", "es", "it", "pt", "nl", "sv", "da",
                               "nb", "pl", "ro", "ca", "cs", "tr", "id", "fi")
# Han characters per unit (Han character or alphabetic word) from which a text
# counts as Chinese; a Han character carries less than a word, hence < 0.5.
HAN_SHARE_FOR_ZH = 0.35
# Kana or hangul among the CJK characters from which a text is Japanese/Korean.
KANA_HANGUL_SHARE = 0.1
# Non-ASCII letters (é, ß, ł, Cyrillic...) among letters from which a text is
# not English.
FOREIGN_LETTER_SHARE = 0.05
# Long quoted tails say nothing more about the writer's language.
MAX_CHARS = 20_000

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
# Alphabetic words: letters other than CJK; digits and "_" excluded.
LETTERS = r"[^\W\d_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+"
WORD = re.compile(rf"{LETTERS}(?:['’]{LETTERS})*")
# Long runs without spaces or Han characters (">>>>...", base64, long links)
# say nothing, and regexes and spaCy's English tokenizer slow down on them.
LONG_RUN = re.compile(r"[^\s\u3400-\u9fff\uf900-\ufaff]{100,}")
# Addresses and links are Latin whatever language surrounds them.
ADDRESS = re.compile(r"\S+@\S+|\w+://\S+|www\.\S+")


def _spacy_stop_words(code: str) -> frozenset[str]:
    # Read stop_words.py on its own: importing spacy.lang.fr as a package
    # builds French tokenizer exceptions, which takes seconds.
    path = Path(spacy.__file__).parent / "lang" / code / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_stop_words_{code}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


@cache
def _stop_words() -> tuple[frozenset[str], frozenset[str], dict[str, tuple[str, ...]]]:
    """English stop words, every foreign one, and each foreign-only word's languages."""
    english = _spacy_stop_words("en")
    foreign = {code: _spacy_stop_words(code) for code in FOREIGN_STOP_WORD_LANGUAGES}
    own: dict[str, tuple[str, ...]] = {}
    for code, stops in foreign.items():
        for word in stops - english:
            own[word] = (*own.get(word, ()), code)
    return english, frozenset().union(*foreign.values()), own


def _looks_english(words: list[str]) -> bool:
    """No other language has more function words of its own (those not shared
    with English, such as "je", "ich", "mi") than English has in all."""
    english, any_foreign, own = _stop_words()
    lowered = [word.lower() for word in words]
    ours = sum(word in english for word in lowered)
    if not ours:
        # Terse ASCII text ("Delete account") has no function words at all.
        return not any(word in any_foreign for word in lowered)
    theirs = Counter(code for word in lowered for code in own.get(word, ()))
    return all(count <= ours for count in theirs.values())


def detect_language(text: str) -> str:
    """Return "zh", "en" or "other" for `text`; "" and symbols-only give "other".

    Chinese (simplified or traditional) wins when Han characters make up enough
    of the text, so "我要删除我的ESL account" is "zh".  Japanese and Korean
    (kana, hangul), non-Latin alphabets, accented Latin languages and plain
    ASCII French, German, Spanish... are "other".  Use reply_language() to pick
    the language of an answer.
    """
    text = LONG_RUN.sub(" ", text[:MAX_CHARS])
    if "@" in text or "://" in text or "www." in text:   # nothing else ADDRESS can match
        text = ADDRESS.sub(" ", text)
    words = WORD.findall(text)
    if text.isascii():   # most mail: no Han, kana, hangul or accented letter to count
        return ("en" if _looks_english(words) else "other") if words else "other"
    han = len(HAN.findall(text))
    hangul = len(HANGUL.findall(text))
    kana_hangul = len(KANA.findall(text)) + hangul
    if hangul:
        words = [word for word in words if not HANGUL.search(word)]
    if kana_hangul and kana_hangul >= KANA_HANGUL_SHARE * (han + kana_hangul):
        return "other"
    if not han and not words:
        return "other"
    if han / (han + len(words)) >= HAN_SHARE_FOR_ZH:
        return "zh"
    letters = "".join(words)
    foreign_letters = len(letters) - len(letters.encode("ascii", "ignore"))
    if foreign_letters > FOREIGN_LETTER_SHARE * len(letters):
        return "other"
    return "en" if _looks_english(words) else "other"


def reply_language(language: str) -> str:
    """The language to answer in: Chinese for "zh", English otherwise."""
    return "zh" if language == "zh" else "en"
