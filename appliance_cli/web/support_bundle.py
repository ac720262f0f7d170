"""``GET /diagnostics/support-bundle``: the support bundle of the last collection, as a download.

The same content as ``appliance support-bundle`` (``status.bundle.bundle_archive``): the
snapshot (collected redacted: no Secrets, no token, log lines scrubbed), the status document
and the tool versions. The route sits behind the service's authentication like every page;
it never triggers a collection, so it cannot stall the service.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from starlette.responses import JSONResponse, Response

from appliance_cli.web.state import StatusState

PATH = "/diagnostics/support-bundle"


def add_support_bundle_route(app: FastAPI, state: StatusState) -> None:
    @app.get(PATH)
    async def support_bundle() -> Response:
        from appliance_cli.status.bundle import bundle_archive

        current = state.view().current
        if current is None or current.snapshot is None:
            return JSONResponse(
                {"detail": "the first status collection has not finished yet"},
                status_code=503,
                headers={"Retry-After": str(max(1, int(state.interval)))},
            )
        # tool versions run local programs: off the event loop
        top, data = await asyncio.to_thread(
            bundle_archive, current.snapshot, current.doc, site_id=current.doc.site_id
        )
        return Response(
            data,
            media_type="application/gzip",
            headers={"Content-Disposition": f'attachment; filename="{top}.tar.gz"'},
        )
