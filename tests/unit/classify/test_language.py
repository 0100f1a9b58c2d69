"""Language detection: zh / en / other, offline, and the language answers go out in."""


import pytest

from bot.classify.language import detect_language, reply_language

from tests.conftest import CORPORA  # noqa: E402


@pytest.mark.parametrize("text", [
    "请删除我的账号和个人信息。",
    "請刪除我的帳號和個人資料，謝謝。",                 # traditional
    "我要删除我的ESL account",                         # Chinese with English words
    "根据《个人信息保护法》第四十五条，我要求查阅、复制我的个人信息。",
    "您好，我的手机号 13800000000 换了，请帮我更正。zhang.san@example.com",
    "删除账号\n\nSent from my iPhone",
    "Re: 注销账号",
])
def test_chinese(text):
    assert detect_language(text) == "zh"


@pytest.mark.parametrize("text", [
    "Please delete my account",
    "I want a copy of my data",
    "Delete account",                                  # no function words, plain ASCII
    "Stop sending me marketing emails",                # "stop" is also a French stop word
    "I can't log in",
    "Please delete my account, my nickname is 小明",    # a Chinese name in English
    "Dear Sir or Madam,\nPursuant to Article 17 GDPR I request the erasure of my data.",
])
def test_english(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", [
    "",
    "   \n ",
    "12345 !!! ???",
    "アカウントを削除してください",                      # Japanese: kana beside kanji
    "個人情報を削除してください。",
    "계정을 삭제해 주세요",                              # Korean
    "Удалите мой аккаунт, пожалуйста",                 # Cyrillic
    "Je voudrais supprimer mon compte, s'il vous plaît.",
    "Supprimez mon compte",
    "Bitte löschen Sie mein Konto.",
    "Loeschen Sie bitte mein Konto und meine Daten",   # German in plain ASCII
    "Me gustaría eliminar mi cuenta",
    "Por favor borren mis datos",
    "Vorrei cancellare il mio account",
    "Ik wil mijn account verwijderen",
])
def test_other(text):
    assert detect_language(text) == "other"


def test_long_runs_are_fast_and_ignored():
    assert detect_language("Please delete my account\n" + ">" * 700_000) == "en"


@pytest.mark.parametrize("name, expected", [
    ("email_danish_1.txt", "other"),
    ("email_danish_2.txt", "other"),
    ("email_swedish_1.txt", "other"),
    ("email_nl_1_1.txt", "other"),
    ("email_pl_1_1.txt", "other"),
    ("email_ja_1_1.txt", "other"),
    ("email_ja_1_2.txt", "other"),
    ("email_sent_from_iPhone.txt", "en"),
    ("outlook.txt", "en"),
    ("email_gmail.txt", "en"),
])
@pytest.mark.corpora
def test_real_bodies(name, expected):
    path = CORPORA / "mail-parser-reply" / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    assert detect_language(path.read_text(encoding="utf-8", errors="replace")) == expected


@pytest.mark.corpora
def test_english_reply_quoting_a_chinese_header():
    import json
    path = CORPORA / "email-reply-trimmer" / "email_reply_trimmer_cases.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    body = next(c["input"] for c in cases if c["name"] == "embedded_email_chinese.txt")
    assert "写道" in body
    assert detect_language(body) == "en"


@pytest.mark.parametrize("language, reply", [("zh", "zh"), ("en", "en"), ("other", "en")])
def test_reply_language_falls_back_to_english(language, reply):
    assert reply_language(language) == reply
