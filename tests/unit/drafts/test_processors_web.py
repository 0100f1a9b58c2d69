"""The ticket page shows each processor's state and answer; staff check (or correct) how it was read."""
from __future__ import annotations

import pytest

from bot.store.db import transaction
from bot.web.auth import add_user
from tests.support.pipeline_flow import mail, make_app
from tests.unit.drafts.test_processors import PROCESSORS, approved_deletion, events, notices
from tests.unit.web.test_web_helpers import PASSWORD, STAFF, anon, client, fast_hashes, flow, post  # noqa: F401


@pytest.fixture
def bot(engine, clock, tmp_path, fast_hashes):   # noqa: F811 - the console's app, with processors configured
    app = make_app(engine, clock, tmp_path, deletion={"third_parties": PROCESSORS})
    with transaction(app.sessions) as session:
        add_user(session, STAFF, PASSWORD, role="staff", now=clock.now(), min_length=12)
    return app


def test_staff_see_each_processor_and_check_its_answer(bot, flow, client):   # noqa: F811
    sms, analytics = approved_deletion(bot, flow)
    flow.send(mail("privacy@sms.example", "Re", "Thanks, we have removed the user's records.", "<a@sms>",
                   In_Reply_To=sms.message_id))
    page = client.get("/tickets/ESL-000001").text
    assert 'id="processors"' in page and "SMS gateway" in page and "Analytics" in page
    assert "removed the user&#39;s records" in page and f"/processors/{sms.id}/check" in page
    assert f"/processors/{analytics.id}/check" not in page   # nothing to check before an answer
    refused = post(client, f"/tickets/ESL-000001/processors/{analytics.id}/check", state="confirmed")
    assert refused.status_code == 303 and notices(bot)[1].state == "waiting"
    done = post(client, f"/tickets/ESL-000001/processors/{sms.id}/check", state="confirmed")
    assert done.status_code == 303
    checked = notices(bot)[0]
    assert checked.checked_by == f"staff:{STAFF}" and checked.state == "confirmed"
    (event,) = events(bot, "processor.checked")
    assert event.actor == f"staff:{STAFF}"
    assert f"/processors/{sms.id}/check" not in client.get("/tickets/ESL-000001").text
