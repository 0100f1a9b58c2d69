"""Rule: is the text staff typed in the language of the mail it goes into (Chinese mail needs Chinese)?"""
from __future__ import annotations

import re

# Han characters; text for a Chinese mail should be mostly these, not Latin words.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


class OtherLanguage(ValueError):
    """The text staff typed is not in the language of the mail it goes into."""


def reads_as_chinese(text: str) -> bool:
    """At least as many Han characters as Latin words: names, codes and addresses in Latin letters are fine."""
    han = len(HAN.findall(text))
    return han > 0 and han >= len(LATIN_WORD.findall(text))


def check_typed_text(text: str, language: str, *, confirmed: bool, what: str) -> None:
    """Refuse text staff typed for a Chinese mail that is not Chinese, unless they confirmed it goes as typed."""
    if language == "zh" and text.strip() and not confirmed and not reads_as_chinese(text):
        raise OtherLanguage(f"the requester reads Chinese and the mail is in Chinese, but {what} is not in "
                            "Chinese: write it in Chinese, or confirm it should go as typed")
