"""The least-privilege e2e tests judge the operator's log by `denials`: every refusal, nothing else."""

from __future__ import annotations

from kopf._cogs.clients.errors import APIForbiddenError
from kubernetes.client.exceptions import ApiException

from tests.deploy.as_operator import denials


class _Response:
    status = 403
    reason = "Forbidden"
    data = b'{"kind":"Status","code":403}'
    headers: dict[str, str] = {}


def test_a_refusal_as_each_client_prints_it_is_a_denial() -> None:
    kopf_error = APIForbiddenError(
        {"code": 403, "message": 'deployments.apps "x" is forbidden: User cannot patch'},
        status=403,
        headers={},
    )
    entries = [
        f"[ERROR] Handler failed: {ApiException(http_resp=_Response())}",
        f"[ERROR] {kopf_error!r}",
        "aiohttp.ClientResponseError: 403, message='Forbidden', url='https://127.0.0.1/apis'",
        "GET /api/v1/namespaces/x/configmaps HTTP/1.1 403 ",
    ]
    for entry in entries:
        assert denials(entry), entry


def test_numbers_that_contain_403_are_not_denials() -> None:
    log = "\n".join(
        [
            "[INFO] reconcile of team-a/m took 403 ms",
            "[DEBUG] patched status at resourceVersion 40312",
            "[INFO] queue depth 403, oldest 12.403 s",
        ]
    )
    assert denials(log) == []
