"""Poison and hostile input: oversized, unparseable and unstorable messages end quarantined once, never retried."""
from __future__ import annotations

import json
import logging
import sys
import sysconfig
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.service.app import build_app
from bot.classify import Classification
from bot.config import Settings
from bot.intake.fetcher import drain_folder
from bot.store.models import AuditEvent, InboundMessage, MailboxState, Ticket
from bot.mail.context import Location
from bot.mail.parse import parse_message
from tests.conftest import CORPORA
from tests.support.memory_mailbox import MemoryMailbox
from tests.support.pipeline_flow import Flow, make_app

LIMIT = 4096
OUTCOMES = {"new-ticket", "follow-up", "machine-mail", "stored", "duplicate", "quarantined"}


def mail(sender: str, subject: str, body: str, msgid: str, attachment: bytes = b"") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, "support@esl.example", subject, msgid
    msg.set_content(body)
    if attachment:
        msg.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="scan.bin")
    return msg.as_bytes(policy=SMTP)


def make(engine, clock, limit=LIMIT, **kw):
    settings = Settings(smtp={"from_address": "support@esl.example"}, imap={"max_message_bytes": limit})
    return build_app(settings, engine=engine, clock=clock, create_schema=False, **kw)


def rows(app, status=None) -> list[InboundMessage]:
    with Session(app.engine) as s:
        query = select(InboundMessage).order_by(InboundMessage.id)
        return [r for r in s.exec(query) if status is None or r.status == status]


def events(app, action: str) -> list[dict]:
    with Session(app.engine) as s:
        return [json.loads(e.detail) for e in s.exec(select(AuditEvent).where(AuditEvent.action == action))]


def watermark(app) -> int:
    with Session(app.engine) as s:
        return s.get(MailboxState, "INBOX").last_uid


def test_oversized_message_is_not_downloaded_but_quarantined_once_with_a_note(engine, clock):
    app, box = make(engine, clock), MemoryMailbox()
    box.add(mail("a@example.org", "Delete my data", "Please delete my account.", "<1@x>"))
    big = box.add(mail("b@example.org", "My ID scan", "Scan attached.", "<2@x>", attachment=b"\x89" * 20_000))
    box.add(mail("c@example.org", "Access request", "Send me a copy of my data.", "<3@x>"))
    report = drain_folder(box, app.pipeline, folder="INBOX", move_to="Handled")
    assert report.outcomes == {"new-ticket": 2, "quarantined": 1}

    (row,) = rows(app, "quarantined")
    assert (row.uid, row.sender, row.subject, row.message_id) == (big, "b@example.org", "My ID scan", "<2@x>")
    assert row.raw == box.messages[big][:len(row.raw)] and len(row.raw) < 1024   # the header alone
    assert f"{len(box.messages[big]):,} bytes" in row.quarantine_reason and "4,096" in row.quarantine_reason
    assert "folder 'INBOX'" in row.quarantine_reason and f"UID {big}" in row.quarantine_reason
    assert "moved to 'Handled'" in row.quarantine_reason
    assert events(app, "message.quarantined")[0]["reason"] == row.quarantine_reason
    assert all("\\Seen" in flags for flags in box.flags.values()) and watermark(app) == 3

    fetched = box.fetched_count
    assert drain_folder(box, app.pipeline, folder="INBOX").outcomes == {}   # never retried
    assert box.fetched_count == fetched
    box.renumber()   # a re-scan recognises it, like every stored message
    assert drain_folder(box, app.pipeline, folder="INBOX").outcomes == {"duplicate": 3}
    assert len(rows(app, "quarantined")) == 1


def test_oversized_message_handed_to_the_pipeline_directly_is_kept_whole(engine, clock):
    app = make(engine, clock)
    raw = mail("b@example.org", "Big", "x" * 10_000, "<big@x>")
    assert app.pipeline.handle(raw, Location("", 0, 0)) == "quarantined"
    (row,) = rows(app, "quarantined")
    assert row.raw == raw and "the whole message is stored here" in row.quarantine_reason
    assert app.pipeline.handle(raw, Location("", 0, 0)) == "duplicate"


def test_message_too_deeply_nested_to_parse_is_quarantined(engine, clock):
    app = make(engine, clock, limit=200_000)
    raw = b"From: a@example.org\nSubject: deep\n" + b"Content-Type: message/rfc822\n\n" * 3000 + b"\nhello\n"
    assert app.pipeline.handle(raw, Location("", 0, 0)) == "quarantined"
    (row,) = rows(app, "quarantined")
    assert row.raw == raw and row.sender == "a@example.org"
    assert row.quarantine_reason.startswith("cannot be parsed") and "RecursionError" in row.quarantine_reason


class HostileClassifier:
    """A classifier whose error message carries NULs, lone surrogates and a huge text."""

    def classify(self, subject: str, body: str) -> Classification:
        if "poison" in subject:
            raise ValueError("cannot cope with \x00 or \udcff in " + "z" * 50_000)
        return Classification("deletion", ("deletion",), 0.9, "en")


def test_error_text_with_nul_and_surrogates_is_stored_sanitised(engine, clock):
    app, box = make(engine, clock, classifier=HostileClassifier()), MemoryMailbox()
    box.add(mail("a@example.org", "poison", "Delete my data", "<1@x>"))
    box.add(mail("b@example.org", "fine", "Delete my data", "<2@x>"))
    assert drain_folder(box, app.pipeline, folder="INBOX").outcomes == {"quarantined": 1, "new-ticket": 1}
    (row,) = rows(app, "quarantined")
    assert row.quarantine_reason.startswith("ValueError: cannot cope with  or \ufffd in zzz")
    assert "\x00" not in row.quarantine_reason and len(row.quarantine_reason) < 1000
    assert row.sender == "a@example.org" and row.raw == box.messages[1]


def _long_header_mail(n: int) -> bytes:
    import random
    rnd = random.Random(n)
    cjk = "".join(chr(rnd.randrange(0x4E00, 0x9FFF)) for _ in range(900))
    ascii_ = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(5000))
    return (f"From: {ascii_}@example.org\nSubject: {cjk}\nMessage-ID: <{cjk[:450]}@{cjk[450:]}>\n"
            f"In-Reply-To: <{ascii_}@x>\n\nPlease delete my data.\n").encode()


def test_header_values_too_long_for_an_index_never_raise(engine, clock):
    app = make(engine, clock, limit=100_000)
    outcome = app.pipeline.handle(_long_header_mail(1), Location("", 0, 0))
    assert outcome in ("new-ticket", "machine-mail", "stored", "quarantined")
    (row,) = rows(app)
    assert len(row.sender) <= 254 and (row.message_id is None or len(row.message_id.encode()) < 2704)


def _refuse(engine, column: str, code: str = "22000") -> None:
    """A database trigger that refuses to store an inbound message whose column holds POISON."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            needle = "CAST('POISON' AS BLOB)" if column == "raw" else "'POISON'"
            conn.execute(text(f"CREATE TRIGGER refuse BEFORE INSERT ON inboundmessage "
                              f"WHEN instr(NEW.{column}, {needle}) > 0 BEGIN SELECT RAISE(ABORT, 'refused'); END"))
            return
        needle = "'POISON'::bytea" if column == "raw" else "'POISON'"
        conn.execute(text(f"CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                          f"IF position({needle} in NEW.{column}) > 0 THEN "
                          f"RAISE EXCEPTION 'refused' USING ERRCODE = '{code}'; END IF; RETURN NEW; END $$ "
                          f"LANGUAGE plpgsql"))
        conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON inboundmessage "
                          "FOR EACH ROW EXECUTE FUNCTION refuse()"))


@pytest.mark.parametrize("code", ["22000", "54000"])   # data exception; program limit (an OperationalError)
def test_row_refused_for_a_header_field_is_quarantined_without_it(engine, clock, code):
    app, box = make(engine, clock), MemoryMailbox()
    _refuse(engine, "subject", code)
    box.add(mail("a@example.org", "POISON subject", "Delete my data", "<1@x>"))
    box.add(mail("b@example.org", "fine", "Delete my data", "<2@x>"))
    assert drain_folder(box, app.pipeline, folder="INBOX").outcomes == {"quarantined": 1, "new-ticket": 1}
    (row,) = rows(app, "quarantined")
    assert row.subject == "" and row.raw == box.messages[1] and "refused" in row.quarantine_reason


def test_message_the_database_refuses_entirely_is_skipped_not_retried(engine, clock, caplog):
    app, box = make(engine, clock), MemoryMailbox()
    _refuse(engine, "raw")
    box.add(mail("a@example.org", "Delete", "POISON secret-body-words", "<1@x>"))
    box.add(mail("b@example.org", "fine", "Delete my data", "<2@x>"))
    with caplog.at_level(logging.ERROR):
        assert drain_folder(box, app.pipeline, folder="INBOX").outcomes == {"unstorable": 1, "new-ticket": 1}
    assert [r.uid for r in rows(app)] == [2] and watermark(app) == 2
    assert box.flags[1] == set() and box.flags[2] == {"\\Seen"}   # left unread on the server for staff
    (event,) = events(app, "message.unstorable")
    assert (event["folder"], event["uid"]) == ("INBOX", 1) and "refused" in event["error"]
    assert "could not be stored at all" in caplog.text and "secret-body-words" not in caplog.text

    fetched = box.fetched_count
    assert drain_folder(box, app.pipeline, folder="INBOX").outcomes == {}
    assert box.fetched_count == fetched
    with Session(app.engine) as s:
        assert len(list(s.exec(select(Ticket)))) == 1


def _stdlib_email_data() -> Path | None:
    """CPython's own email test messages, from this interpreter or the one the venv was made from."""
    candidates = []
    try:
        import test.test_email as stdlib_tests
        candidates.append(Path(stdlib_tests.__file__).parent / "data")
    except ImportError:
        pass
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates += [Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data",
                   Path(sys.base_prefix) / "lib" / version / "test" / "test_email" / "data"]
    return next((path for path in candidates if path.is_dir()), None)


def hostile_samples() -> list[tuple[str, bytes]]:
    """Every message of ../shared/corpora (as its MANIFESTs list them: not the JSONL pack) and of CPython."""
    found = []
    if CORPORA.is_dir():
        found += [(str(p.relative_to(CORPORA)), p.read_bytes()) for p in sorted(CORPORA.rglob("*"))
                  if p.is_file() and p.name != "MANIFEST.md" and p.suffix != ".jsonl"]
    if (stdlib := _stdlib_email_data()) is not None:
        found += [(f"stdlib/{p.name}", p.read_bytes()) for p in sorted(stdlib.glob("*.txt"))]
    return found


def test_every_corpus_and_stdlib_message_goes_through_the_whole_pipeline(engine, clock, tmp_path):
    samples = hostile_samples()
    if not samples:
        pytest.skip("neither ../shared/corpora nor CPython's email test messages are here")
    flow = Flow(make_app(engine, clock, tmp_path))
    names = {flow.box.add(raw): name for name, raw in samples}
    report = drain_folder(flow.box, flow.app.pipeline, folder="INBOX", batch_size=50)
    assert report.handled == len(samples) and set(report.outcomes) <= OUTCOMES
    stored = {row.uid: row for row in rows(flow.app)}
    for uid, name in names.items():
        row = stored.get(uid)
        if row is None:   # the same message twice in the corpora: recognised as already stored
            continue
        assert row.status in ("handled", "quarantined"), name
        assert row.status == "handled" or row.quarantine_reason, name
    assert len(names) - len(stored) == report.outcomes["duplicate"]
    # Many test messages have no From at all (or an ambiguous one): no usable sender, kept for staff.
    # Those aside, quarantine is for the odd one, not many.
    no_sender = [row for row in stored.values() if (row.quarantine_reason or "").startswith("no usable sender")]
    assert all(parse_message(row.raw).from_address == "" for row in no_sender)
    assert report.outcomes["quarantined"] - len(no_sender) <= len(samples) // 20, report.outcomes
