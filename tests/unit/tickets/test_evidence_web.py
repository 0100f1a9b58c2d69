"""The ticket page's evidence pack button: the ZIP downloads, and who took it is audited."""
from __future__ import annotations

import io
import zipfile

from tests.unit.web.test_web_helpers import anon, bot, client, fast_hashes, flow, verified_access  # noqa: F401


def test_ticket_page_button_downloads_the_pack_and_the_export_is_audited(flow, client):
    verified_access(flow)
    reference = flow.ticket().reference
    page = client.get(f"/tickets/{reference}").text
    assert f'href="/tickets/{reference}/evidence.zip"' in page
    response = client.get(f"/tickets/{reference}/evidence.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert f"{reference}-evidence.zip" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
        assert f"{reference}/summary.html" in pack.namelist()
    assert flow.actions()[-1] == "evidence.exported"
    assert client.get("/tickets/ESL-000404/evidence.zip").status_code == 404
