from __future__ import annotations

import pytest

from modeldeploy.backends.azureml.traffic import canonical, validate
from modeldeploy.ports import BackendError

KNOWN = {"blue", "green"}


def _error(live: dict[str, int], mirror: dict[str, int], *, kubernetes: bool = False) -> BackendError:
    with pytest.raises(BackendError) as info:
        validate(canonical(live, mirror), kubernetes=kubernetes, known=KNOWN)
    assert info.value.reason == "InvalidTrafficSplit"
    assert info.value.retryable is False
    return info.value


def test_canonical_drops_zeros_and_lower_cases_like_the_sdk() -> None:
    assert canonical({"Blue": 100, "green": 0}, {"x": 0}).live == {"blue": 100}
    assert canonical({"Blue": 100, "green": 0}, {"x": 0}).mirror == {}


def test_canonical_sees_mirror_changes_that_endpoint_equality_ignores() -> None:
    assert canonical({"blue": 100}, {"green": 10}) != canonical({"blue": 100}, {"green": 20})


def test_live_traffic_must_sum_to_100() -> None:
    assert "sum to 100, got 90" in _error({"blue": 50, "green": 40}, {}).message


def test_unknown_deployments_are_refused() -> None:
    assert "'red'" in _error({"red": 100}, {}).message


def test_mirror_at_most_50_percent() -> None:
    err = _error({"blue": 100}, {"green": 51})
    assert "at most 50%" in err.message
    assert "lower the shadow percentage" in err.message


def test_one_mirrored_deployment() -> None:
    with pytest.raises(BackendError, match="only one deployment"):
        validate(canonical({"blue": 100}, {"green": 10, "red": 10}), kubernetes=False, known=KNOWN | {"red"})


def test_live_and_mirror_on_one_deployment_is_refused() -> None:
    assert "live and mirrored" in _error({"blue": 50, "green": 50}, {"green": 10}).message


def test_no_mirroring_on_kubernetes_endpoints() -> None:
    assert "Kubernetes online endpoints" in _error({"blue": 100}, {"green": 10}, kubernetes=True).message


def test_valid_splits_pass() -> None:
    validate(canonical({"blue": 90, "green": 10}, {}), kubernetes=True, known=KNOWN)
    validate(canonical({"blue": 100}, {"green": 50}), kubernetes=False, known=KNOWN)
    validate(canonical({}, {}), kubernetes=False, known=KNOWN)
