"""The ticket page's evidence pack button: the ZIP downloads, and who took it is audited."""
from __future__ import annotations

import io
import zipfile

from tests.unit.web.test_web_helpers import anon, bot, client, fast_hashes, flow, verified_access  # noqa: F401


def test_ticket_page_button_downloads_the_pack_and_the_export_is_audited(flow, client):
    verified_access(flow)
    page = client.get("/tickets/ESL-000001").text
    assert 'href="/tickets/ESL-000001/evidence.zip"' in page
    response = client.get("/tickets/ESL-000001/evidence.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "ESL-000001-evidence.zip" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
        assert "ESL-000001/summary.html" in pack.namelist()
    assert flow.actions()[-1] == "evidence.exported"
    assert client.get("/tickets/ESL-000404/evidence.zip").status_code == 404
