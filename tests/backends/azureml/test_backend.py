"""AzureMLBackend on the SDK fakes: what it sends, the rules it enforces first, and how it recovers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from azure.ai.ml.entities import (
    KubernetesOnlineDeployment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    OnlineDeployment,
    TargetUtilizationScaleSettings,
)
from azure.core.exceptions import ServiceResponseTimeoutError
from azure.mgmt.monitor.models import AutoscaleSettingResource

from modeldeploy.api.azure_names import TAG_OWNER, TAG_REVISION, deployment_name
from modeldeploy.ports import BackendError
from modeldeploy.rollout.serving import Readiness, TrafficSplit
from tests.backends.azureml.fakes import http_error
from tests.backends.azureml.rig import Rig, example_spec

ENDPOINT = "kdap-budget-optimizer-p4k9"  # the example names the endpoint infra created (tests/seam)


def _ready(rig: Rig, index: int = 0, min_replicas: int | None = None) -> str:
    request = rig.request(index, min_replicas)
    rig.backend.ensure_revision(rig.owner, request)
    rig.ws.settle()
    assert rig.backend.ensure_revision(rig.owner, request).readiness is Readiness.READY
    return request.name


def _deployment(rig: Rig, revision: str) -> OnlineDeployment:
    endpoint = rig.spec.target.azureml.endpoint_name  # type: ignore[union-attr]
    return OnlineDeployment._from_rest_object(rig.ws.deployments[(endpoint, deployment_name(revision))])


def _setting(rig: Rig, revision: str) -> AutoscaleSettingResource:
    endpoint = rig.spec.target.azureml.endpoint_name  # type: ignore[union-attr]
    body = rig.ws.autoscale[(rig.ws.resource_group, f"{endpoint}-{deployment_name(revision)}-autoscale")]
    return AutoscaleSettingResource.deserialize(body)


@pytest.fixture
def budget() -> Rig:
    return Rig(example_spec("budget-optimizer"))


# --- what is sent -------------------------------------------------------------------------------------


def test_managed_deployment_carries_the_spec(budget: Rig) -> None:
    name = _ready(budget)
    sent = _deployment(budget, name)
    assert isinstance(sent, ManagedOnlineDeployment)
    assert sent.model == "azureml:budget-optimizer:1"
    assert (
        sent.environment == "azureml://registries/kdap-prod-models/environments/lightgbm-inference/versions/4"
    )
    assert sent.code_configuration is not None
    assert sent.code_configuration.scoring_script == "score.py"
    assert (sent.instance_type, sent.instance_count) == ("Standard_DS3_v2", 2)  # autoscaling.minReplicas
    assert sent.request_settings is not None
    assert sent.request_settings.request_timeout_ms == 3000
    assert sent.readiness_probe is not None
    assert sent.readiness_probe.initial_delay == 20
    assert sent.tags[TAG_REVISION] == name
    assert sent.tags[TAG_OWNER] == "ml-serving/budget-optimizer"


def test_endpoint_is_managed_with_the_auth_mode_and_owner_tags(budget: Rig) -> None:
    _ready(budget)
    endpoint = budget.ws.online_endpoints.get(ENDPOINT)
    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert endpoint.auth_mode == "aad_token"
    assert endpoint.tags[TAG_OWNER] == "ml-serving/budget-optimizer"


def test_autoscale_setting_targets_the_deployment_with_cpu_rules_and_windows(budget: Rig) -> None:
    name = _ready(budget)
    setting = _setting(budget, name)
    deployment_id = _deployment(budget, name).id
    assert setting.target_resource_uri == deployment_id
    assert setting.location == "westeurope"
    assert setting.enabled is True
    default, window, window_end = setting.profiles
    assert (default.capacity.minimum, default.capacity.maximum, default.capacity.default) == ("2", "8", "2")
    scale_out, scale_in = default.rules
    assert scale_out.metric_trigger.metric_name == "CpuUtilizationPercentage"
    assert scale_out.metric_trigger.metric_resource_uri == deployment_id
    assert (scale_out.metric_trigger.operator, scale_out.metric_trigger.threshold) == ("GreaterThan", 70)
    assert (scale_in.metric_trigger.operator, scale_in.metric_trigger.threshold) == ("LessThan", 35)
    assert scale_in.scale_action.cooldown == timedelta(minutes=10)  # autoscaling.scaleInDelay
    assert window.capacity.minimum == "4"
    assert window.recurrence.schedule.days == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    assert (window.recurrence.schedule.hours, window.recurrence.schedule.minutes) == ([7], [0])
    assert window.recurrence.schedule.time_zone == "W. Europe Standard Time"
    assert window_end.capacity.minimum == "2"
    assert window_end.recurrence.schedule.hours == [18]  # 07:00 + 11h
    assert '"for": "window-0"' in window_end.name


def test_kubernetes_endpoint_scales_in_cluster_not_through_azure_monitor() -> None:
    rig = Rig(example_spec("anomaly-detector"))
    name = _ready(rig)
    sent = _deployment(rig, name)
    assert isinstance(sent, KubernetesOnlineDeployment)
    assert isinstance(sent.scale_settings, TargetUtilizationScaleSettings)
    assert (sent.scale_settings.min_instances, sent.scale_settings.max_instances) == (1, 5)
    assert sent.scale_settings.target_utilization_percentage == 60
    assert rig.ws.autoscale == {}
    assert rig.ws.count("autoscale_settings.create_or_update") == 0
    # model.artifactUri: an inline Model the SDK registers (as anomaly-detector:1.0.0) before creating.
    assert str(sent.model).endswith("/models/anomaly-detector/versions/1.0.0")


def test_min_replicas_scales_a_revision_down_in_place(budget: Rig) -> None:
    name = _ready(budget)
    state = budget.backend.ensure_revision(budget.owner, budget.request(0, min_replicas=1))
    assert state.readiness is Readiness.PROGRESSING  # an update of the same deployment
    budget.ws.settle()
    assert (
        budget.backend.ensure_revision(budget.owner, budget.request(0, min_replicas=1)).readiness
        is Readiness.READY
    )
    assert _deployment(budget, name).instance_count == 1
    assert _setting(budget, name).profiles[0].capacity.minimum == "1"
    assert budget.ws.count("online_deployments.begin_create_or_update") == 2


# --- traffic -------------------------------------------------------------------------------------------


def test_set_traffic_is_one_call_and_idempotent(budget: Rig) -> None:
    stable, canary = _ready(budget, 0), _ready(budget, 1)
    before = budget.ws.count("online_endpoints.begin_create_or_update")
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 90, canary: 10}))
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 90, canary: 10}))
    assert budget.ws.count("online_endpoints.begin_create_or_update") == before + 1


def test_zero_weights_dropped_by_the_sdk_do_not_cause_updates(budget: Rig) -> None:
    stable, canary = _ready(budget, 0), _ready(budget, 1)
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 100, canary: 0}))
    endpoint = budget.ws.online_endpoints.get(ENDPOINT)
    assert endpoint.traffic == {deployment_name(stable): 100, deployment_name(canary): 0}  # get() fills zeros
    before = budget.ws.count("online_endpoints.begin_create_or_update")
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 100, canary: 0}))
    assert budget.ws.count("online_endpoints.begin_create_or_update") == before
    split = budget.backend.observed_traffic(budget.owner)
    assert split is not None
    assert dict(split.weights) == {stable: 100}


def test_a_mirror_only_change_is_applied_although_endpoint_equality_ignores_it() -> None:
    rig = Rig(example_spec("propensity-scorer"))
    stable, shadow = _ready(rig, 0), _ready(rig, 1)
    rig.backend.set_traffic(rig.owner, TrafficSplit({stable: 100}, mirror=shadow, mirror_percent=10))
    rig.backend.set_traffic(rig.owner, TrafficSplit({stable: 100}, mirror=shadow, mirror_percent=20))
    split = rig.backend.observed_traffic(rig.owner)
    assert split is not None
    assert (split.mirror, split.mirror_percent) == (shadow, 20)


def test_shadow_to_live_in_one_step() -> None:
    rig = Rig(example_spec("propensity-scorer"))
    stable, shadow = _ready(rig, 0), _ready(rig, 1)
    rig.backend.set_traffic(rig.owner, TrafficSplit({stable: 100}, mirror=shadow, mirror_percent=20))
    rig.backend.set_traffic(rig.owner, TrafficSplit({shadow: 100}))
    split = rig.backend.observed_traffic(rig.owner)
    assert split is not None
    assert (dict(split.weights), split.mirror) == ({shadow: 100}, None)


@pytest.mark.parametrize(
    ("example", "mirror_percent", "fragment"),
    [
        ("propensity-scorer", 60, "at most 50%"),
        ("anomaly-detector", 10, "not supported on Kubernetes online endpoints"),
    ],
)
def test_azure_rules_are_enforced_before_any_call(example: str, mirror_percent: int, fragment: str) -> None:
    rig = Rig(example_spec(example))
    stable, shadow = _ready(rig, 0), _ready(rig, 1)
    before = rig.ws.count("online_endpoints.begin_create_or_update")
    with pytest.raises(BackendError) as info:
        rig.backend.set_traffic(
            rig.owner, TrafficSplit({stable: 100}, mirror=shadow, mirror_percent=mirror_percent)
        )
    assert info.value.reason == "InvalidTrafficSplit"
    assert fragment in info.value.message
    assert info.value.retryable is False
    assert rig.ws.count("online_endpoints.begin_create_or_update") == before


def test_traffic_to_a_revision_still_provisioning_waits(budget: Rig) -> None:
    stable = _ready(budget, 0)
    pending = budget.request(1)
    budget.backend.ensure_revision(budget.owner, pending)
    with pytest.raises(BackendError) as info:
        budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 50, pending.name: 50}))
    assert (info.value.reason, info.value.retryable) == ("DeploymentNotReady", True)


def test_traffic_waits_while_the_endpoint_is_updating(budget: Rig) -> None:
    stable, canary = _ready(budget, 0), _ready(budget, 1)
    budget.ws.hold_endpoints = True
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 90, canary: 10}))
    with pytest.raises(BackendError) as info:
        budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 50, canary: 50}))
    assert (info.value.reason, info.value.retryable) == ("EndpointBusy", True)


def test_long_revision_names_map_to_valid_deployments_and_back() -> None:
    rig = Rig(example_spec("budget-optimizer"))
    rig.owner = type(rig.owner)("ml-serving", "budget-optimizer-europe-west-production", "uid-2")
    stable = _ready(rig, 0)
    assert len(stable) > 32
    rig.backend.set_traffic(rig.owner, TrafficSplit({stable: 100}))
    split = rig.backend.observed_traffic(rig.owner)
    assert split is not None
    assert dict(split.weights) == {stable: 100}


# --- long-running operations and restarts ---------------------------------------------------------------


def test_an_operator_restart_resumes_polling_instead_of_starting_again(budget: Rig) -> None:
    request = budget.request(0)
    first = budget.backend.ensure_revision(budget.owner, request)
    assert first.readiness is Readiness.PROGRESSING
    assert first.operation["kind"] == "create"
    budget.clock.now += timedelta(minutes=10)
    restarted = budget.new_backend()
    again = restarted.ensure_revision(budget.owner, request)
    assert again.readiness is Readiness.PROGRESSING
    assert again.operation["startedAt"] == first.operation["startedAt"]
    assert budget.ws.count("online_deployments.begin_create_or_update") == 1
    budget.ws.settle()
    assert restarted.ensure_revision(budget.owner, request).readiness is Readiness.READY
    assert budget.ws.count("online_deployments.begin_create_or_update") == 1


def test_provisioning_that_never_finishes_times_out(budget: Rig) -> None:
    request = budget.request(0)
    budget.backend.ensure_revision(budget.owner, request)
    budget.clock.now += timedelta(minutes=44)
    assert budget.backend.revision_state(budget.owner, request.name).readiness is Readiness.PROGRESSING
    budget.clock.now += timedelta(minutes=2)
    state = budget.backend.revision_state(budget.owner, request.name)
    assert (state.readiness, state.reason) == (Readiness.FAILED, "ProvisioningTimedOut")
    assert "Creating for 46m (limit 45m)" in state.message


def test_a_failed_deployment_reports_the_azure_code_and_message(budget: Rig) -> None:
    request = budget.request(0)
    budget.backend.ensure_revision(budget.owner, request)
    dep = deployment_name(request.name)
    budget.ws.fail(ENDPOINT, dep, "OutOfQuota", "Not enough quota for Standard_DS3_v2 in westeurope")
    state = budget.backend.revision_state(budget.owner, request.name)
    assert (state.readiness, state.reason) == (Readiness.FAILED, "OutOfQuota")
    assert "Not enough quota for Standard_DS3_v2" in state.message
    # The same revision is not retried by ensure: it would fail the same way.
    assert budget.backend.ensure_revision(budget.owner, request).readiness is Readiness.FAILED
    assert budget.ws.count("online_deployments.begin_create_or_update") == 1


def test_after_a_restart_a_failure_is_explained_from_the_logs(budget: Rig) -> None:
    request = budget.request(0)
    budget.backend.ensure_revision(budget.owner, request)
    budget.ws.fail(ENDPOINT, deployment_name(request.name), "OutOfQuota", "quota exhausted")
    state = budget.new_backend().revision_state(budget.owner, request.name)
    assert (state.readiness, state.reason) == (Readiness.FAILED, "DeploymentProvisioningFailed")
    assert "quota exhausted" in state.message


# --- transient failures -----------------------------------------------------------------------------------


def test_throttling_is_retried_after_retry_after(budget: Rig) -> None:
    budget.ws.faults.add(
        "online_endpoints.get", http_error(429, "TooManyRequests", "throttled", retry_after="5")
    )
    state = budget.backend.ensure_revision(budget.owner, budget.request(0))
    assert state.readiness is Readiness.PROGRESSING
    assert budget.clock.slept == [5.0]


def test_a_timeout_on_create_is_retried_once_and_creates_one_deployment(budget: Rig) -> None:
    budget.ws.faults.add(
        "online_deployments.begin_create_or_update", ServiceResponseTimeoutError("read timeout")
    )
    budget.backend.ensure_revision(budget.owner, budget.request(0))
    assert budget.ws.count("online_deployments.begin_create_or_update") == 2
    assert len(budget.ws.deployments) == 1


def test_persistent_5xx_becomes_a_retryable_condition_then_opens_the_circuit(budget: Rig) -> None:
    errors = [http_error(503, "ServiceUnavailable", "westeurope is busy") for _ in range(12)]
    budget.ws.faults.add("online_endpoints.get", *errors)
    for _ in range(3):
        with pytest.raises(BackendError) as info:
            budget.backend.revision_state(budget.owner, "x")
        assert (info.value.reason, info.value.retryable) == ("ServiceUnavailable", True)
        assert "westeurope is busy" in info.value.message
    calls = budget.ws.count("online_endpoints.get")
    with pytest.raises(BackendError) as info:
        budget.backend.revision_state(budget.owner, "x")
    assert info.value.reason == "AzureCircuitOpen"
    assert budget.ws.count("online_endpoints.get") == calls  # Azure left alone while open


# --- ownership and deletion -----------------------------------------------------------------------------


def test_an_endpoint_owned_by_someone_else_is_not_touched(budget: Rig) -> None:
    foreign = ManagedOnlineEndpoint(name=ENDPOINT, auth_mode="key", tags={TAG_OWNER: "team-x/other"})
    budget.ws.online_endpoints.begin_create_or_update(foreign)
    with pytest.raises(BackendError) as info:
        budget.backend.ensure_revision(budget.owner, budget.request(0))
    assert (info.value.reason, info.value.retryable) == ("NotOwned", False)
    assert "team-x/other" in info.value.message
    assert "endpointName" in info.value.message
    budget.backend.delete_all(budget.owner)
    assert ENDPOINT in budget.ws.endpoints


def test_a_revision_with_traffic_is_not_deleted(budget: Rig) -> None:
    stable = _ready(budget, 0)
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 100}))
    with pytest.raises(BackendError) as info:
        budget.backend.delete_revision(budget.owner, stable)
    assert (info.value.reason, info.value.retryable) == ("RevisionHasTraffic", False)
    assert "route it elsewhere" in info.value.message


def test_deleting_revisions_and_everything_removes_autoscale_settings(budget: Rig) -> None:
    stable, old = _ready(budget, 0), _ready(budget, 1)
    assert len(budget.ws.autoscale) == 2
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 100}))
    budget.backend.delete_revision(budget.owner, old)
    assert len(budget.ws.autoscale) == 1
    budget.backend.delete_all(budget.owner)
    assert budget.ws.autoscale == {}
    assert budget.ws.endpoints == {}


# --- bad specs -----------------------------------------------------------------------------------------


def _with(rig: Rig, **changes: Any) -> Any:
    manifest = rig.spec.to_manifest()
    for path, value in changes.items():
        node = manifest
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return type(rig.spec).model_validate(manifest)


def test_code_outside_azure_ml_is_refused_naming_the_field(budget: Rig) -> None:
    spec = _with(budget, model__code={"uri": "https://example.com/score.zip"})
    with pytest.raises(BackendError) as info:
        budget.backend.ensure_revision(budget.owner, budget.request(0, spec=spec))
    assert info.value.reason == "InvalidSpec"
    assert "spec.model.code.uri" in info.value.message
    assert "azureml:<name>:<version>" in info.value.message


def test_a_time_zone_azure_monitor_cannot_express_is_refused(budget: Rig) -> None:
    window = {
        "name": "w",
        "cron": "0 7 * * 1-5",
        "duration": "1h",
        "minReplicas": 3,
        "timeZone": "Antarctica/Troll",  # a real IANA zone with no Windows name
    }
    spec = _with(budget, autoscaling__schedules=[window])
    request = budget.request(0, spec=spec)
    budget.backend.ensure_revision(budget.owner, request)
    budget.ws.settle()
    with pytest.raises(BackendError) as info:
        budget.backend.ensure_revision(budget.owner, request)
    assert "spec.autoscaling.schedules" in info.value.message
    assert "'Antarctica/Troll'" in info.value.message


def test_a_revision_for_another_endpoint_is_refused(budget: Rig) -> None:
    spec = _with(budget, target__azureml__endpointName="someone-else")
    with pytest.raises(BackendError) as info:
        budget.backend.ensure_revision(budget.owner, budget.request(0, spec=spec))
    assert "spec.target.azureml" in info.value.message
    assert "someone-else" in info.value.message
