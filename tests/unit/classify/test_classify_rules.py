"""The rule classifier: rights asked for in English and Chinese, near misses, confidence."""

import json
import time

import pytest

from bot.classify import PRECEDENCE, Classification, Classifier, classification_from_scores
from bot.classify.loading import load_classifier
from bot.classify.rules import RuleClassifier

from tests.conftest import CORPORA  # noqa: E402


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("rules")


def case(body, kind, labels=None, subject="", id=None):
    return pytest.param(subject, body, kind, labels or (kind,), id=id or (subject + " | " + body)[:60])


ENGLISH = [
    case("Please delete my account.", "deletion"),
    case("Dear Sir or Madam,\n\nPursuant to Article 17 GDPR, I hereby request the erasure of all "
         "personal data concerning me that ESL holds.\n\nYours faithfully,\nJane Doe", "deletion"),
    case("Under Article 15 GDPR I exercise my right of access. Please provide me with a copy "
         "of my personal data.", "access"),
    case("Please send me a copy of all personal data you hold about me.", "access"),
    case("What personal data do you hold about me?", "access"),
    case("Please rectify my date of birth.", "correction"),
    case("Under Article 16 GDPR I request rectification of my email address.", "correction"),
    case("My phone number is wrong, please update it.", "correction"),
    case("Please change the mobile number on my account to 13800000000.", "correction"),
    case("I don't use my account anymore, please delete it.", "deletion"),
    case("I don't want to use ESL anymore, please delete my account.", "deletion"),
    case("Please remove me from your database.", "deletion"),
    case("Why can't I delete my account?", "deletion"),
    case("I don't know how to delete my account", "deletion"),
    case("Please delete my account and send me a confirmation once my data is deleted.",
         "deletion"),
    case("I don't use ESL anymore so please delete my account", "deletion"),
    case("Please send me a copy of my data and then delete my account.", "deletion",
         ("deletion", "access")),
    case("Please correct my nickname, send me a copy of my personal data, and then "
         "delete my account.", "deletion", ("deletion", "access", "correction")),
    case("Hi,\nI have a new mobile number. Could you please change the mobile number on my "
         "account?\nThanks", "correction"),
]

ENGLISH_NEAR_MISSES = [
    case("Do NOT delete my account!", "other"),
    case("How do I change my avatar?", "other"),
    case("How to delete a post?", "other"),
    case("How do I delete a photo from my account?", "other"),
    case("Please unsubscribe me from your newsletter.", "other"),
    case("Please remove my email address from your mailing list.", "other"),
    case("I forgot my password and can't log in.", "other"),
    case("I can't access my account, the verification code never arrives.", "other"),
    case("I want a refund for my VIP membership.", "other"),
    case("I want to report a user who is harassing me.", "other"),
    case("Please delete this user's account, he is a scammer.", "other"),
    case("Please cancel my deletion request.", "other"),
    case("If you are not the intended recipient, please notify the sender and delete this "
         "email and any copies.", "other"),
]

CHINESE = [
    case("请删除我的个人信息", "deletion"),
    case("我要注销账号", "deletion"),
    case("我要删除我的ESL account", "deletion"),
    case("我不想用了请注销", "deletion"),
    case("为什么不能注销账号？", "deletion"),
    case("导出我的数据", "access"),
    case("根据《个人信息保护法》第四十五条，我要求查阅、复制", "access"),
    case("我想知道你们收集了我哪些个人信息", "access"),
    case("请更正我的个人信息", "correction"),
    case("请补充我的个人资料", "correction"),
    case("我的手机号错了，请帮我改一下", "correction"),
    case("请不要注销我的账号，我只是想改一下昵称", "correction"),
    case("請刪除我的帳號和個人資料", "deletion"),
    case("我要查閱我的個人資料", "access"),
    case("請更正我的暱稱", "correction"),
    case("您好，我已经不再使用贵公司的服务，根据《个人信息保护法》第四十七条，"
         "请删除我的全部个人信息并注销账号。", "deletion", subject="ESL 账号删除申请"),
    case("您好：\n\n本人依据《中华人民共和国个人信息保护法》第四十五条的规定，要求贵司提供本人"
         "在使用ESL过程中产生的全部个人信息副本。\n\n此致", "access"),
    case("请先导出我的数据，然后注销我的账号", "deletion", ("deletion", "access")),
    case("我要查阅我的个人信息，并更正我的手机号", "access", ("access", "correction")),
    case("請更正我的手機號碼，並刪除我的帳號", "deletion", ("deletion", "correction")),
]

CHINESE_NEAR_MISSES = [
    case("不要删除我的账号", "other"),
    case("請不要刪除我的帳號", "other"),
    case("怎么修改头像", "other"),
    case("删除一条动态", "other"),
    case("请删除我账号里的一条动态", "other"),
    case("请不要再给我发营销短信", "other"),
    case("退订", "other"),
    case("我忘记密码了，登录不了", "other"),
    case("我要退款", "other"),
    case("举报一个用户，他一直骚扰我", "other"),
    case("请删除他的账号，他是骗子", "other"),
    case("别删我账号", "other"),
]

SUBJECT_AND_BODY = [
    case("", "deletion", subject="Delete my account", id="subject only"),
    case("", "other", id="empty subject and body"),
    case("Please delete my account", "deletion", id="empty subject"),
    case("Please delete my account", "deletion", subject="Question", id="bland subject"),
    case("Please ignore my previous email and do not delete my account. I only want to "
         "change my phone number.", "correction", subject="Delete my account",
         id="body takes back the subject"),
    case("怎么修改头像？", "other", subject="Re: 头像", id="zh subject, how-to body"),
]


@pytest.mark.parametrize("subject, body, kind, labels",
                         ENGLISH + ENGLISH_NEAR_MISSES + CHINESE + CHINESE_NEAR_MISSES
                         + SUBJECT_AND_BODY)
def test_classify(classifier, subject, body, kind, labels):
    result = classifier.classify(subject, body)
    assert (result.kind, result.labels) == (kind, labels)
    assert 0.0 <= result.confidence <= 1.0


@pytest.mark.parametrize("subject, body, language", [
    ("", "Please delete my account", "en"),
    ("", "请删除我的个人信息", "zh"),
    ("Delete account", "请删除我的账号", "zh"),
    ("", "Bitte löschen Sie mein Konto.", "other"),
    ("", "", "other"),
])
def test_language_is_reported(classifier, subject, body, language):
    assert classifier.classify(subject, body).language == language


def confidence(classifier, body, subject=""):
    return classifier.classify(subject, body).confidence


def test_clear_request_beats_how_to_question(classifier):
    assert classifier.classify("", "How do I delete my account?").kind == "deletion"
    assert (confidence(classifier, "Please delete my account.")
            > confidence(classifier, "How do I delete my account?"))
    assert (confidence(classifier, "请注销我的账号") > confidence(classifier, "怎么注销账号"))


def test_more_evidence_means_more_confidence(classifier):
    body_only = confidence(classifier, "Please delete my account.")
    subject_only = confidence(classifier, "", subject="Delete my account")
    both = confidence(classifier, "Please delete my account.", subject="Delete my account")
    assert subject_only < body_only < both
    letter = ("Pursuant to Article 17 GDPR I exercise my right to erasure: please delete "
              "all personal data you hold about me.")
    assert confidence(classifier, letter) > confidence(classifier, "Please delete the data.")


def test_conflicting_topics_lower_confidence(classifier):
    assert classifier.classify("", "Delete my account, and refund my VIP fee.").kind == "deletion"
    assert (confidence(classifier, "Delete my account, and refund my VIP fee.")
            < confidence(classifier, "Delete my account."))


def test_other_is_sure_only_with_evidence(classifier):
    weak = classifier.classify("", "Please delete it.")        # delete what?
    nothing = classifier.classify("", "Hello, thanks for the update.")
    near_miss = classifier.classify("", "I forgot my password and can't log in.")
    empty = classifier.classify("", "")
    assert {weak.kind, nothing.kind, near_miss.kind, empty.kind} == {"other"}
    assert weak.confidence < nothing.confidence < near_miss.confidence
    assert empty.confidence < nothing.confidence
    assert weak.confidence < 0.5 < near_miss.confidence


def test_request_taken_back_is_uncertain(classifier):
    taken_back = classifier.classify(
        "", "Please delete my account. Actually, no, do not delete my account.")
    refused = classifier.classify("", "Do not delete my account.")
    assert taken_back.kind == refused.kind == "other"
    assert taken_back.confidence < 0.5 < refused.confidence


def test_request_survives_a_long_quoted_tail(classifier):
    started = time.process_time()
    result = classifier.classify("", "请删除我的账号\n" + ">" * 700_000 + "\n" + "a " * 50_000)
    assert result.kind == "deletion"
    assert time.process_time() - started < 2.0


HUMAN_REPLIES = ["talon/standard_replies", "mail-parser-reply"]


@pytest.mark.corpora
def test_everyday_mail_is_other(classifier):
    """Real replies and chatter from the third-party corpora ask for no right."""
    paths = [p for folder in HUMAN_REPLIES for p in sorted((CORPORA / folder).glob("*"))
             if p.is_file() and p.name != "MANIFEST.md"]
    trimmer = CORPORA / "email-reply-trimmer" / "email_reply_trimmer_cases.jsonl"
    if not paths or not trimmer.exists():
        pytest.skip("third-party corpora are absent")
    bodies = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    bodies += [json.loads(line)["input"] for line in trimmer.read_text("utf-8").splitlines()]
    assert len(bodies) > 50
    asked = [body[:80] for body in bodies if classifier.classify("", body).kind != "other"]
    assert asked == []


def test_interface():
    rules = load_classifier()
    assert isinstance(rules, Classifier)
    assert isinstance(rules.classify("", "Please delete my account"), Classification)
    with pytest.raises(ValueError, match="unknown classifier"):
        load_classifier("crystal-ball")


def test_classification_checks_itself():
    Classification("deletion", ("deletion", "access"), 0.9, "en")
    with pytest.raises(ValueError):
        Classification("erase", ("erase",), 0.9, "en")
    with pytest.raises(ValueError):
        Classification("access", ("access", "deletion"), 0.9, "en")    # not PRECEDENCE order
    with pytest.raises(ValueError):
        Classification("deletion", ("access",), 0.9, "en")             # primary not first
    with pytest.raises(ValueError):
        Classification("other", ("other",), 1.5, "en")


def test_scores_to_classification():
    both = classification_from_scores({"access": 0.9, "deletion": 0.7, "correction": 0.2}, "zh")
    assert (both.kind, both.labels, both.confidence, both.language) == (
        "deletion", ("deletion", "access"), 0.7, "zh")
    none = classification_from_scores({"access": 0.3, "deletion": 0.1}, "en")
    assert (none.kind, none.labels, none.confidence) == ("other", ("other",), 0.7)
    given = classification_from_scores({"access": 0.3, "other": 0.9}, "en")
    assert given.confidence == 0.9
    assert PRECEDENCE[0] == "deletion"


def write_patterns(folder, en_lines, zh_lines=()):
    folder.mkdir(exist_ok=True)
    (folder / "en.jsonl").write_text("\n".join(json.dumps(l) for l in en_lines), "utf-8")
    (folder / "zh.jsonl").write_text("\n".join(json.dumps(l) for l in zh_lines), "utf-8")
    return folder


def test_patterns_come_from_the_files(tmp_path):
    folder = write_patterns(tmp_path / "p", [
        {"comment": "only one phrase"},
        {"label": "deletion", "pattern": "forget about me", "weight": 0.9}])
    rules = load_classifier("rules", patterns_dir=folder)
    assert rules.classify("", "Please forget about me").kind == "deletion"
    assert rules.classify("", "Please delete my account").kind == "other"


@pytest.mark.parametrize("line, complaint", [
    ({"label": "erasing", "pattern": "erase"}, "label"),
    ({"label": "deletion", "pattern": "erase", "weight": 2}, "weight"),
    ({"label": "act", "pattern": "erase"}, "right"),
    ({"label": "object", "pattern": "data", "rights": ["forgetting"]}, "rights"),
    ({"label": "deletion", "pattern": "erase", "wieght": 1}, "unknown keys"),
    ({"label": "deletion", "pattern": [{"LOWER": {"BOGUS": 1}}]}, ""),
])
def test_bad_pattern_lines_are_named(tmp_path, line, complaint):
    folder = write_patterns(tmp_path / "p", [{"comment": "fine"}, line])
    with pytest.raises(ValueError, match=f"en.jsonl:2: .*{complaint}"):
        RuleClassifier(folder)


def test_a_long_running_rule_classifier_keeps_no_strings_from_the_mail_it_reads(classifier):
    # As the trained model (test_model_shortcuts.py): new words must not pile up in spaCy's vocab.
    def mail(n):
        return "删除账号", f"Please erase my account zq{n}x{n * 7}, phone 139{n:08d}. 请删除我的账号{n}号。"
    classifier.classify(*mail(0))
    sizes = [len(nlp.vocab.strings) for nlp, _ in classifier.readers.values()]
    results = [classifier.classify(*mail(n)) for n in range(1, 100)]
    assert [len(nlp.vocab.strings) for nlp, _ in classifier.readers.values()] == sizes
    assert {r.kind for r in results} == {"deletion"}
