"""Account sources: the embedded table (CSV/JSONL import) and the app's own database through queries."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.store.accounts.embedded import AccountFileError, EmbeddedAccountSource, import_accounts, read_account_file
from bot.store.accounts.phones import normalize_phone
from bot.store.accounts.sql import SqlAccountSource
from bot.config import AccountSettings


def test_csv_and_jsonl_import_normalise_and_replace(engine, tmp_path):
    csv_file = tmp_path / "a.csv"
    csv_file.write_text("account_id,nickname,phone,email,wechat_bound,status\n"
                        "A1,Alice,138-0013-8000,Alice@Example.org; alt@example.org,true,active\n"
                        "A2,李雷,,,0,closed\n", encoding="utf-8")
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text('{"account_id": "A1", "nickname": "Alice2", "phone": "+86 139 1234 5678", '
                     '"email": "new@example.org", "wechat_bound": false, "status": "active"}\n')
    with Session(engine) as s:
        import_accounts(s, read_account_file(csv_file))
        s.commit()
        source = EmbeddedAccountSource(s)
        alice = source.by_email("ALICE@example.org")[0]
        assert (alice.phone, alice.emails, alice.wechat_bound) == ("+8613800138000", ("alice@example.org", "alt@example.org"), True)
        assert source.by_phone("+8613800138000")[0].account_id == "A1"
        assert source.by_nickname("李雷")[0].status == "closed"
        import_accounts(s, read_account_file(jsonl))
        s.commit()
        assert source.by_email("alice@example.org") == []   # replaced, old addresses gone
        assert source.get("A1").emails == ("new@example.org",)


@pytest.mark.parametrize("content, message", [
    ("id,name\n1,x\n", "header must be"),
    ("account_id,nickname,phone,email,wechat_bound,status\n,x,,,,\n", ":2: account_id is empty"),
    ("account_id,nickname,phone,email,wechat_bound,status\nA,x,12345,,,\n", ":2: phone '12345' is not a valid number"),
])
def test_bad_account_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "a.csv"
    path.write_text(content)
    with pytest.raises(AccountFileError, match=message):
        read_account_file(path)


@pytest.mark.parametrize("written", ["+86 138 0013 8000", "13800138000", "138-0013-8000", "0086 13800138000", "+8613800138000"])
def test_chinese_mobile_numbers_in_any_form(written):
    assert normalize_phone(written) == "+8613800138000"


@pytest.fixture
def app_database(engine):
    """The app's own user table, in whatever shape the app has: here phones are national numbers."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS app_user"))
        conn.execute(text("CREATE TABLE app_user (uid VARCHAR(20) PRIMARY KEY, nick VARCHAR(50), mobile VARCHAR(20), "
                          "mails VARCHAR(200), wechat INTEGER, state VARCHAR(20))"))
        conn.execute(text("INSERT INTO app_user VALUES ('U1', 'alice', '13800138000', 'a@example.org;b@example.org', 1, 'active'),"
                          " ('U2', 'bob', '13900139000', '', 0, 'active')"))
    select_cols = "SELECT uid AS account_id, nick AS nickname, mobile AS phone, mails AS email, wechat AS wechat_bound, state AS status FROM app_user"
    return AccountSettings(
        source="sql", url=str(engine.url),
        query_by_email=select_cols + " WHERE ';' || lower(mails) || ';' LIKE '%;' || :email || ';%'",
        query_by_phone=select_cols + " WHERE mobile = :phone_national OR mobile = :phone",
        query_by_nickname=select_cols + " WHERE nick = :nickname",
        query_by_id=select_cols + " WHERE uid = :account_id",
    )


def test_sql_source_reads_the_apps_database(engine, app_database):
    source = SqlAccountSource(app_database, engine)
    assert [a.account_id for a in source.by_email("B@example.org")] == ["U1"]
    alice = source.by_phone("+8613800138000")[0]
    assert (alice.phone, alice.emails, alice.wechat_bound) == ("+8613800138000", ("a@example.org", "b@example.org"), True)
    assert source.by_nickname("bob")[0].emails == ()
    assert source.get("U2").account_id == "U2" and source.get("nobody") is None
    assert source.by_email("x'; DROP TABLE app_user; --@example.org") == []   # bound, not formatted
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM app_user")).scalar() == 2


def test_sql_source_never_writes(engine, app_database):
    if engine.dialect.name == "postgresql":
        app_database.query_by_id = "UPDATE app_user SET nick = 'x' WHERE uid = :account_id RETURNING uid AS account_id, nick AS nickname, mobile AS phone, mails AS email, wechat AS wechat_bound, state AS status"
        with pytest.raises(Exception, match="read-only"):
            SqlAccountSource(app_database, engine).get("U1")
    else:
        app_database.query_by_id = "DELETE FROM app_user WHERE uid = :account_id RETURNING uid AS account_id, nick AS nickname, mobile AS phone, mails AS email, wechat AS wechat_bound, state AS status"
        SqlAccountSource(app_database, engine).get("U1")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT nick FROM app_user WHERE uid = 'U1'")).scalar() == "alice"


def test_sql_source_needs_its_queries():
    with pytest.raises(ValueError, match="needs url, query_by_email"):
        AccountSettings(source="sql")


def test_every_bad_field_of_every_row_is_listed_at_once(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,nickname,phone,email,wechat_bound,status\n"
                    ",a,12,not-an-address,maybe,active\nA2,b,13900139000,b@example.org,true,active\n"
                    "A3,c,99,c@example.org,false,active\n")
    with pytest.raises(AccountFileError) as found:
        read_account_file(path)
    assert str(found.value).splitlines() == [
        f"{path}:2: account_id is empty", f"{path}:2: phone '12' is not a valid number",
        f"{path}:2: email 'not-an-address' is not an address", f"{path}:2: wechat_bound 'maybe' is not true or false",
        f"{path}:4: phone '99' is not a valid number"]
