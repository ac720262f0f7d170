"""`GET /diagnostics/support-bundle`: the last collection's support bundle, behind the login."""

from __future__ import annotations

import io
import json
import tarfile

import httpx

from appliance_cli.web.server import StatusServer
from tests.unit.web.conftest import TOKEN


def test_without_a_session_the_download_redirects_to_the_login_form(http: httpx.Client) -> None:
    r = http.get("/diagnostics/support-bundle")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert r.headers.get("content-type", "").split(";")[0] != "application/gzip"


def test_signed_in_the_download_is_the_bundle_of_the_last_collection(
    authed: httpx.Client, server: StatusServer
) -> None:
    r = authed.get("/diagnostics/support-bundle")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/gzip"
    current = server.state.view().current
    assert current is not None
    disposition = r.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="alga-support-{current.doc.site_id}-')
    assert disposition.endswith('.tar.gz"')
    assert r.headers["cache-control"] == "no-store"
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames()}
        assert names == {"snapshot.json", "status.json", "versions.json"}
        top = tar.getnames()[0].split("/")[0]
        status = json.loads(tar.extractfile(f"{top}/status.json").read())  # type: ignore[union-attr]
        snapshot = json.loads(tar.extractfile(f"{top}/snapshot.json").read())  # type: ignore[union-attr]
    assert status["rollup"] == current.doc.model_dump(mode="json", by_alias=True)["rollup"]
    assert snapshot["kind"] == "ClusterSnapshot"
    assert TOKEN.encode() not in r.content and "v1/secrets" not in snapshot["resources"]


def test_a_bearer_token_also_opens_the_download(http: httpx.Client) -> None:
    r = http.get("/diagnostics/support-bundle", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.content[:2] == b"\x1f\x8b"
