"""`supportbot users add|list|disable|enable|passwd`: staff accounts from the command line."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli.web import register
from bot.config import Settings
from bot.store.db import make_engine, transaction, session_factory
from bot.store.models import StaffUser
from bot.web.auth import authenticate, start_session, session_user
from tests.support.cli_app import cli_with

PASSWORD = "a long enough passphrase"


@pytest.fixture
def settings(database_url):
    return Settings(database={"url": database_url})


@pytest.fixture
def run(settings):
    app = cli_with(settings, register)
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(app, list(args), input=input)


def users(settings) -> dict[str, StaffUser]:
    with Session(make_engine(settings.database.url)) as s:
        return {u.email: u for u in s.exec(select(StaffUser))}


def check(settings, email, password):
    with Session(make_engine(settings.database.url)) as s:
        return authenticate(s, email, password)


def test_add_from_stdin_stores_only_an_argon2_hash(run, settings):
    result = run("users", "add", "Amy@ESL.example", "--role", "manager", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    user = users(settings)["amy@esl.example"]
    assert user.role == "manager" and user.active
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert check(settings, "amy@esl.example", PASSWORD) is not None
    assert check(settings, "amy@esl.example", PASSWORD + "x") is None


def test_add_prompts_twice(run, settings):
    result = run("users", "add", "bo@esl.example", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert users(settings)["bo@esl.example"].role == "staff"
    mismatch = run("users", "add", "cy@esl.example", input=f"{PASSWORD}\nsomething else entirely\n")
    assert mismatch.exit_code != 0 and "cy@esl.example" not in users(settings)


@pytest.mark.parametrize("args,password,message", [
    (["users", "add", "amy@esl.example"], "short", "at least 12 characters"),
    (["users", "add", "amy@esl.example"], "aaaaaaaaaaaa", "too easy to guess"),
    (["users", "add", "amy@esl.example"], "password1234", "too easy to guess"),
    (["users", "add", "amy@esl.example"], "amy@esl.example!", "too easy to guess"),
    (["users", "add", "amy@esl.example", "--role", "admin"], PASSWORD, "role must be one of"),
    (["users", "add", "not-an-address"], PASSWORD, "not an email address"),
])
def test_add_refuses_bad_input(run, settings, args, password, message):
    result = run(*args, "--password-stdin", input=password + "\n")
    assert result.exit_code == 1 and message in result.output
    assert users(settings) == {}


def test_add_refuses_an_existing_address(run, settings):
    run("users", "add", "amy@esl.example", "--password-stdin", input=PASSWORD)
    result = run("users", "add", "AMY@esl.example", "--password-stdin", input="another long password")
    assert result.exit_code == 1 and "already exists" in result.output
    assert check(settings, "amy@esl.example", PASSWORD) is not None


def test_list_disable_enable_and_passwd(run, settings):
    for email in ("amy@esl.example", "bo@esl.example"):
        run("users", "add", email, "--password-stdin", input=PASSWORD)
    engine = make_engine(settings.database.url)
    with transaction(session_factory(engine)) as s:
        token = start_session(s, users(settings)["amy@esl.example"], now=users(settings)["amy@esl.example"].created_at,
                              hours=12)
    listed = [json.loads(line) for line in run("users", "list", "--json").output.splitlines()]
    assert [(u["email"], u["role"], u["active"]) for u in listed] == [
        ("amy@esl.example", "staff", True), ("bo@esl.example", "staff", True)]
    assert "amy@esl.example" in run("users", "list").output

    assert run("users", "disable", "amy@esl.example").exit_code == 0
    assert users(settings)["amy@esl.example"].active is False
    assert check(settings, "amy@esl.example", PASSWORD) is None
    with Session(engine) as s:   # the session it had is gone
        assert session_user(s, token, users(settings)["amy@esl.example"].created_at) is None
    assert run("users", "disable", "nobody@esl.example").exit_code == 1

    assert run("users", "enable", "amy@esl.example").exit_code == 0
    assert check(settings, "amy@esl.example", PASSWORD) is not None
    assert run("users", "passwd", "amy@esl.example", "--password-stdin", input="a brand new passphrase").exit_code == 0
    assert check(settings, "amy@esl.example", PASSWORD) is None
    assert check(settings, "amy@esl.example", "a brand new passphrase") is not None


def test_language_per_staff_member(run, settings):
    run("users", "add", "li@esl.example", "--password-stdin", input=PASSWORD + "\n")
    assert users(settings)["li@esl.example"].language is None          # [web] language until chosen
    assert run("users", "language", "li@esl.example", "zh").exit_code == 0
    assert users(settings)["li@esl.example"].language == "zh"
    refused = run("users", "language", "li@esl.example", "fr")
    assert refused.exit_code == 1 and "en or zh" in refused.output
