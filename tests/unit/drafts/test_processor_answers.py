"""The rules that read a processor's answer: English and Chinese, doubt goes to a person."""
from __future__ import annotations

import pytest

from bot.drafts.processor_answers import classify_answer


@pytest.mark.parametrize("text", [
    "Hello, we have deleted all data about account A1.",
    "The deletion has been completed on our side.",
    "Data for the user was erased from our systems and backups.",
    "We confirm the deletion of the records.",
    "您好，该用户的数据已删除。",
    "我们已经删除了相关账户的全部数据。",
    "删除已完成，特此确认。",
])
def test_confirmations(text):
    assert classify_answer(text) == "confirmed"


@pytest.mark.parametrize("text", [
    "We cannot delete this data: we are required by law to retain invoices for 7 years.",
    "Unfortunately the records have not been deleted, we decline the request.",
    "We won't delete anything without a court order.",
    "We refuse to process this request.",
    "根据法律规定，我们无法删除该数据。",
    "我们拒绝该删除请求。",
    "数据尚未删除，需要保留用于审计。",
])
def test_refusals(text):
    assert classify_answer(text) == "refused"


@pytest.mark.parametrize("text", [
    "Which account do you mean? We hold several for this phone number.",
    "Please provide the user's registration date.",
    "We deleted the profile. Should we also remove the logs?",
    "Thanks, noted.",
    "请提供该用户的注册手机号。",
    "请问是否也需要删除日志？",
    "收到。",
])
def test_questions_and_anything_unclear(text):
    assert classify_answer(text) == "question"
