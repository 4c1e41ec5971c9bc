"""What the apiserver can only check by shape (a cron, a time zone) the operator refuses by meaning, naming
the field the author wrote: found by the pattern fuzz against the apiserver (test_patterns_cluster.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modeldeploy.api.cron import Cron
from modeldeploy.api.spec import ModelDeploymentSpec
from tests.api.batch_cases import batch_azureml, batch_kubernetes
from tests.api.mdep_cases import Manifest, kubernetes_canary


def _window(cron: str, zone: str = "UTC") -> Manifest:
    spec = kubernetes_canary()
    spec["autoscaling"]["schedules"] = [
        {"name": "day", "cron": cron, "duration": "8h", "minReplicas": 2, "timeZone": zone}
    ]
    return spec


def test_an_autoscaling_cron_that_never_parses_is_refused_as_a_spec_error() -> None:
    """Before, "0 0 0 0 0" (a shape the pattern allows) was valid, and every reconcile of a Kubernetes
    target then failed in Cron.parse: a ReconcileError retried forever instead of SpecValid=False."""
    with pytest.raises(ValidationError) as err:
        ModelDeploymentSpec.model_validate(_window("0 0 0 0 0"))
    assert "autoscaling.schedules[].cron: cron '0 0 0 0 0': day of month '0' is out of range 1-31" in str(
        err.value
    )
    assert err.value.errors()[0]["loc"] == ("autoscaling", "schedules", 0, "cron")
    spec = ModelDeploymentSpec.model_validate(_window("0 8 * * 1-5"))
    assert spec.autoscaling is not None
    assert Cron.parse(spec.autoscaling.schedules[0].cron).hours == {8}  # what the Kubernetes backend parses


@pytest.mark.parametrize(
    ("manifest", "trigger", "label"),
    [
        (batch_kubernetes, {"cron": {"expression": "0 2 * * *", "timeZone": "Mars/Olympus"}}, "cron"),
        (batch_azureml, {"recurrence": {"frequency": "day", "timeZone": "Mars/Olympus"}}, "recurrence"),
    ],
)
def test_a_batch_schedules_unknown_time_zone_names_the_batch_field(
    manifest: type, trigger: dict[str, object], label: str
) -> None:
    """Before, the message named autoscaling.schedules[].timeZone, a field the spec did not even have."""
    spec = manifest()
    spec["batch"]["schedules"] = [{"name": "nightly", **trigger}]
    with pytest.raises(ValidationError) as err:
        ModelDeploymentSpec.model_validate(spec)
    assert (
        f"batch.schedules[].{label}.timeZone must be an IANA time zone name such as Europe/Berlin, "
        "got 'Mars/Olympus'" in str(err.value)
    )
    assert "autoscaling" not in str(err.value)


def test_an_autoscaling_time_zone_still_names_its_field() -> None:
    with pytest.raises(ValidationError) as err:
        ModelDeploymentSpec.model_validate(_window("0 8 * * *", "Mars/Olympus"))
    assert "autoscaling.schedules[].timeZone must be an IANA time zone name such as Europe/Berlin" in str(
        err.value
    )
