"""The one urllib opener for addresses a spec names (Prometheus, retraining webhooks, notification receivers):
http and https only, and it never follows a redirect. urllib re-sends a redirected request with its headers
(a bearer token included) to wherever the Location says, and a redirect would take the request to a host no
ModelDeploymentPolicy granted: a redirect is an error naming where it pointed instead. urllib's default
opener would also open file:, ftp: and data: URLs (a local file is the operator's own tokens); this one
answers them "unknown url type", whatever the checks in front of it let through."""

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


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _NoRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


OPENER = _opener()
