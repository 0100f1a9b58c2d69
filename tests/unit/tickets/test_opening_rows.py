"""A new request's rows as written: the reference in the ticket's own INSERT, the account match in it too."""
from __future__ import annotations

from sqlalchemy import event, text
from sqlmodel import Session, select

from bot.store.models import Ticket
from tests.support.pipeline_flow import mail


def _tickets(flow) -> list[Ticket]:
    with Session(flow.app.engine) as s:
        return list(s.exec(select(Ticket).order_by(Ticket.id)))


def test_the_reference_carries_the_id_the_ticket_got_past_six_digits_too(flow):
    flow.send(mail("first@example.org", "Delete my account", "Please delete my account.", "<r1@example.org>"))
    filler = _tickets(flow)[0].model_copy(update={"id": 999_999, "reference": "ESL-999999-AAA"})
    with Session(flow.app.engine) as s:   # as if a million tickets came before: the next id is 1,000,000
        s.add(Ticket.model_validate(filler.model_dump()))
        if s.connection().dialect.name == "postgresql":
            s.exec(text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), 999999)"))
        s.commit()
    flow.send(mail("second@example.org", "Delete my account", "Please delete my account.", "<r2@example.org>"))
    first, _, second = _tickets(flow)
    assert (first.id, second.id) == (1, 1_000_000)
    assert first.reference.rsplit("-", 1)[0] == "ESL-000001"
    assert second.reference.rsplit("-", 1)[0] == "ESL-1000000" and len(second.reference) == len("ESL-1000000-K7M")


def test_a_request_from_an_unknown_account_is_written_without_updating_its_ticket(flow):
    statements: list[str] = []
    event.listen(flow.app.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: statements.append(" ".join(statement.split()).lower()))
    flow.send(mail("stranger@example.org", "Delete my account", "Please delete my account.", "<u1@example.org>"))
    (ticket,) = _tickets(flow)
    assert (ticket.verification, ticket.waiting_on, ticket.account_id) == ("unknown", "requester", None)
    assert [s for s in statements if s.startswith("update ticket")] == []
    assert len([s for s in statements if s.startswith("insert into ticket")]) == 1
