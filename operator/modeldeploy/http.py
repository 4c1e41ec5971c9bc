"""The one urllib opener for addresses a spec names (Prometheus, retraining webhooks): it never follows a
redirect. urllib re-sends a redirected request with its headers (a bearer token included) to wherever the
Location says, and a redirect would take the request to a host no ModelDeploymentPolicy granted: a
redirect is an error naming where it pointed instead."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirected to {newurl}; redirects are not followed", headers, fp
        )


OPENER = urllib.request.build_opener(_NoRedirects)
