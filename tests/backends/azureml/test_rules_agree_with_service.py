"""Property: the backend's pre-flight traffic check accepts exactly what the (fake) service accepts."""

from __future__ import annotations

from azure.ai.ml.entities import KubernetesOnlineEndpoint, ManagedOnlineEndpoint
from azure.core.exceptions import HttpResponseError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeldeploy.backends.azureml.traffic import canonical, validate
from modeldeploy.ports import BackendError
from tests.backends.azureml.fakes import FakeWorkspace, _check_traffic

NAMES = ["blue", "green", "red"]
weights = st.dictionaries(st.sampled_from([*NAMES, "ghost"]), st.integers(0, 100), max_size=3)


def _service_accepts(ws: FakeWorkspace, endpoint: object) -> bool:
    try:
        _check_traffic(ws, endpoint)  # type: ignore[arg-type]
    except HttpResponseError:
        return False
    return True


def _backend_accepts(live: dict[str, int], mirror: dict[str, int], kubernetes: bool) -> bool:
    try:
        validate(canonical(live, mirror), kubernetes=kubernetes, known=set(NAMES))
    except BackendError:
        return False
    return True


_WS = FakeWorkspace()
for _name in NAMES:
    _WS.deployments[("ep1", _name)] = object()  # only names matter to the traffic rules


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(live=weights, mirror=weights, kubernetes=st.booleans())
def test_preflight_matches_the_service(
    live: dict[str, int], mirror: dict[str, int], kubernetes: bool
) -> None:
    kind = KubernetesOnlineEndpoint if kubernetes else ManagedOnlineEndpoint
    cleaned = canonical(live, mirror)  # what the SDK sends after dropping zeros
    endpoint = kind(name="ep1", traffic=dict(cleaned.live), mirror_traffic=dict(cleaned.mirror))
    assert _backend_accepts(live, mirror, kubernetes) == _service_accepts(_WS, endpoint)
