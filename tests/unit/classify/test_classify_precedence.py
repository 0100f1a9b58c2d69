"""Precedence for safety: weak or contradicted deletion goes to triage; opt-outs and complaints are
"other"; letters naming a right by law, reminders and requests made for someone else get that right.

Every example was written for this file, in English and Chinese.
"""
from __future__ import annotations

import pytest

from bot.classify.loading import load_classifier
from bot.classify.model import prepare
from bot.classify.signals import read_signals
from bot.mail.text import classifier_input
from bot.config import TicketSettings

TRIAGE = TicketSettings().triage_threshold   # the default, as config.example.toml documents it


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("model")


def classify(classifier, subject, body):
    return classifier.classify(*classifier_input(subject, body))


def signals(subject, body):
    return read_signals(prepare(*classifier_input(subject, body)))


WEAK_DELETIONS = [
    ("Phone number", "I don't want to delete my account, I only need the phone number on it changed."),
    ("Birthday", "Please delete the wrong birthday on my profile and put 1991-02-14 there instead."),
    ("Earlier mail", "Please cancel my deletion request from Monday, I would like to keep using ESL."),
    ("Re: account removed", "Thank you for deleting my account so quickly, all good now."),
    ("Re: old thread", "What time does the evening class start?\n\n"
     "On Fri, 6 Nov 2026, Kim <kim@example.org> wrote:\n> Please delete my account and every bit of my data."),
    ("手机号", "我不想注销账号，只是想把绑定的手机号换一个。"),
    ("生日", "麻烦删掉错误的生日，换成1991年2月14日。"),
    ("撤回", "我想撤回上周的注销申请，账号我还要继续用。"),
    ("回复：已注销", "谢谢，看到账号已经注销了，辛苦。"),
]


@pytest.mark.parametrize("subject, body", WEAK_DELETIONS, ids=[s for s, _ in WEAK_DELETIONS])
def test_weak_or_contradicted_deletion_is_never_a_confident_deletion(classifier, subject, body):
    result = classify(classifier, subject, body)
    assert result.kind != "deletion" or result.confidence < TRIAGE, result


OPT_OUTS = [
    ("Marketing", "Please unsubscribe me from your newsletters and promotional texts."),
    ("Objection", "Under Article 21 GDPR I object to your processing of my data for personalised advertising."),
    ("Do Not Sell", "Do not sell or share my personal information with advertisers."),
    ("Consent", "I withdraw my consent to you using my voice recordings to train your models."),
    ("Processing", "Stop processing my learning history for ad profiling, please."),
    ("退订", "请帮我退订所有营销短信和推送。"),
    ("撤回同意", "本人撤回此前授权，请停止使用我的录音训练你们的模型。"),
    ("停止处理", "请停止处理我的学习记录用于广告画像。"),
]


@pytest.mark.parametrize("subject, body", OPT_OUTS, ids=[s for s, _ in OPT_OUTS])
def test_opt_outs_objections_and_withdrawn_consent_are_other(classifier, subject, body):
    assert classify(classifier, subject, body).kind == "other"


LAW_LETTERS = [
    ("Request under Article 15 GDPR", "Dear Sir or Madam,\nPursuant to Article 15 GDPR I ask for confirmation "
     "whether you process data concerning me and, if so, for a copy of it.\nYours faithfully,\nR. Okafor", "access"),
    ("Article 16 UK GDPR", "Dear ESL,\nUnder Article 16 UK GDPR the surname you hold for me is misspelt; it is "
     "Okafor, not Okafur. Please rectify it within one month.", "correction"),
    ("CCPA", "I am a California resident exercising my right to delete under Cal. Civ. Code 1798.105. "
     "Remove the personal information you collected from me.", "deletion"),
    ("依据个人信息保护法第四十五条", "ESL：\n本人依据《个人信息保护法》第四十五条，请求查阅并复制贵公司处理的本人全部个人信息。\n申请人：周敏", "access"),
    ("第四十六条", "本人依据《个人信息保护法》第四十六条，发现注册姓名有误，请更正为周敏。", "correction"),
    ("第四十七条删除申请", "依据《个人信息保护法》第四十七条，本人请求删除贵平台保存的本人个人信息。", "deletion"),
]


@pytest.mark.parametrize("subject, body, right", LAW_LETTERS, ids=[s for s, _, _ in LAW_LETTERS])
def test_letters_naming_a_right_by_law_get_it(classifier, subject, body, right):
    assert classify(classifier, subject, body).kind == right


# Access letters recite what the copy must tell them, the right to erasure among it (GDPR Art. 15(1)(e)):
# the law they cite decides, and the erasure they only mention is no deletion to draft.
ACCESS_LETTERS_LISTING_ERASURE = [
    ("Subject access request", "Dear Data Protection Officer,\nUnder Article 15 GDPR please send me a copy of the "
     "personal data you hold about me, the purposes, the recipients, how long you will keep it, and confirm the "
     "existence of my rights to rectification, erasure and restriction of processing and to object. Erase "
     "nothing for now: I need the copy first.\nKind regards,\nT. Brandt"),
    ("Auskunft nach Art. 15 DSGVO", "Sehr geehrte Damen und Herren,\ngemäß Art. 15 DSGVO bitte ich um Auskunft "
     "über meine bei Ihnen gespeicherten personenbezogenen Daten und um eine Kopie. Bitte informieren Sie mich "
     "auch über mein Recht auf Berichtigung, Löschung und Einschränkung der Verarbeitung.\nMit freundlichen "
     "Grüßen\nT. Brandt"),
]


@pytest.mark.parametrize("subject, body", ACCESS_LETTERS_LISTING_ERASURE, ids=[s for s, _ in ACCESS_LETTERS_LISTING_ERASURE])
def test_an_access_letter_listing_the_right_to_erasure_is_no_deletion(classifier, subject, body):
    assert signals(subject, body).cited == {"access"}
    result = classify(classifier, subject, body)
    assert "deletion" not in result.labels and result.kind == "access"


def test_a_right_the_model_found_but_the_letter_does_not_cite_is_weakened_beside_one_it_cites():
    from bot.classify.signals import Signals, weigh
    cited_access = Signals(frozenset({"access"}), frozenset(), False, False, False)
    scores = weigh({"access": 0.8, "correction": 0.1, "deletion": 0.9, "other": 0.05}, cited_access, 0.5)
    assert scores["access"] == 0.8 and scores["deletion"] < 0.5   # no longer first by precedence
    both = Signals(frozenset({"access", "deletion"}), frozenset(), False, False, False)
    assert weigh({"access": 0.8, "correction": 0.1, "deletion": 0.9, "other": 0.05}, both, 0.5)["deletion"] == 0.9


REMINDERS_AND_AGENTS = [
    ("Reminder: my access request", "This is a reminder: on 2 October I asked for a copy of my personal data. "
     "The month has passed and I have had no answer.", "access"),
    ("Second reminder", "I am chasing my request of 1 September to erase my account and data. Please confirm it is done.",
     "deletion"),
    ("On behalf of my client", "We act for Ms Ana Duarte. On her behalf we request erasure of all of her personal data "
     "held by ESL. Her signed authority is attached.", "deletion"),
    ("My son's account", "I am the parent of a 12-year-old user. As his guardian I ask you to send me a copy of the "
     "personal information you hold about him.", "access"),
    ("提醒：查阅申请", "提醒：我10月2日申请查阅并复制我的个人信息，至今没有回复，请尽快处理。", "access"),
    ("代理申请", "本人受王芳委托，代其申请删除她在ESL的账号及全部个人信息，授权书见附件。", "deletion"),
]


@pytest.mark.parametrize("subject, body, right", REMINDERS_AND_AGENTS, ids=[s for s, _, _ in REMINDERS_AND_AGENTS])
def test_reminders_and_requests_for_someone_else_get_the_right(classifier, subject, body, right):
    assert classify(classifier, subject, body).kind == right


COMPLAINTS = [
    ("Complaint against ESL", "Dear Information Commissioner,\nI wish to lodge a complaint against ESL Ltd. On 3 August "
     "I wrote to them: \"Please delete my account and all my data.\" They never replied."),
    ("投诉", "致市场监督管理局：\n被投诉人：ESL。本人8月3日向其申请注销账号并删除个人信息，至今未获处理，特此投诉。"),
]


@pytest.mark.parametrize("subject, body", COMPLAINTS, ids=[s for s, _ in COMPLAINTS])
def test_a_complaint_to_a_regulator_quoting_a_request_is_other(classifier, subject, body):
    assert signals(subject, body).regulator
    result = classify(classifier, subject, body)
    assert result.kind == "other" or result.confidence < TRIAGE


def test_a_threat_to_complain_in_a_reminder_is_no_complaint():
    assert not signals("", "If I hear nothing in 7 days I will lodge a complaint with the ICO.").regulator


def test_deleting_outright_outweighs_an_opt_out():
    assert not signals("", "Unsubscribing is not enough, please delete my whole account.").opt_out
    assert not signals("", "光退订不够，请把我的账号彻底注销。").opt_out
    assert signals("", "Please unsubscribe me; this is not a request to delete anything.").opt_out


def test_typographic_apostrophes_are_read_like_straight_ones():
    assert signals("", "I don’t want to delete my account, just the phone number changed.").deletion_doubt
    assert signals("", "Don’t sell or share my personal information.").opt_out
    assert prepare("", "I’d like a copy; it’s been a while.") == prepare("", "I'd like a copy; it's been a while.")
