"""The models on their own: defaults, helpers, and every rule rejecting with words that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from modeldeploy.api import ModelDeploymentSpec, format_duration, parse_duration
from modeldeploy.api.analysis import NumericalFeature
from modeldeploy.api.quantity import parse_quantity
from modeldeploy.api.strategy import Pause
from tests.api.batch_cases import BATCH_INVALID, batch_azureml, batch_kubernetes
from tests.api.mdep_cases import INVALID as ONLINE_INVALID
from tests.api.mdep_cases import Invalid, azureml_shadow, kubernetes_canary

INVALID = [*ONLINE_INVALID, *BATCH_INVALID]


def test_valid_bases_parse() -> None:
    k8s = ModelDeploymentSpec.model_validate(kubernetes_canary())
    aml = ModelDeploymentSpec.model_validate(azureml_shadow())
    assert k8s.target.kubernetes is not None
    assert k8s.target.kubernetes.port == 8080
    assert aml.target.azureml is not None
    assert aml.target.azureml.endpoint_kind == "managed"


def test_defaults() -> None:
    spec = ModelDeploymentSpec.model_validate(kubernetes_canary())
    assert spec.autoscaling is not None
    assert spec.autoscaling.target_cpu_utilization == 70
    assert spec.autoscaling.scale_in_delay == "5m"
    assert spec.analysis is not None
    assert spec.analysis.interval == "1m"
    drift = spec.analysis.drift
    assert drift is not None
    assert drift.drifted_share_threshold == 0.5
    assert drift.min_sample_size == 1000
    # No test named: the engine chooses by type and reference size (KS / chi-squared on small samples).
    assert drift.numerical[0].test is None
    assert drift.numerical[0].effective_threshold() is None
    assert drift.categorical[0].test is None
    assert spec.rollback.on_drift
    assert spec.rollback.on_metric_failure
    assert spec.rollback.failure_limit == 0
    aml = ModelDeploymentSpec.model_validate(azureml_shadow()).target.azureml
    assert aml is not None
    assert aml.auth_mode is None
    assert aml.effective_auth_mode() == "aad_token"  # what infra creates: api/platform.py
    assert aml.request_settings.request_timeout_ms == 5000
    assert aml.liveness_probe.failure_threshold == 30
    assert aml.readiness_probe.period_seconds == 10


def test_manifest_uses_camel_case_and_round_trips() -> None:
    spec = ModelDeploymentSpec.model_validate(kubernetes_canary())
    manifest = spec.to_manifest()
    assert manifest["autoscaling"]["targetCPUUtilization"] == 70
    assert manifest["target"]["kubernetes"]["resources"]["limits"]["cpu"] == "1"  # int quantities become text
    assert ModelDeploymentSpec.model_validate(manifest) == spec


@pytest.mark.parametrize("case", INVALID, ids=[c.id for c in INVALID])
def test_invalid_rejected_with_field_named(case: Invalid) -> None:
    with pytest.raises(ValidationError) as err:
        ModelDeploymentSpec.model_validate(case.spec())
    assert case.python in str(err.value)


def test_at_least_thirty_invalid_cases_with_distinct_ids() -> None:
    assert len(INVALID) >= 30
    assert len({c.id for c in INVALID}) == len(INVALID)


def test_canary_helpers() -> None:
    spec = ModelDeploymentSpec.model_validate(kubernetes_canary())
    steps = spec.canary_steps()
    assert [s.weight for s in steps] == [10, 100]
    assert steps[0].pause is not None
    assert steps[0].pause.seconds() == 600
    assert not steps[0].pause.is_manual
    assert Pause().is_manual
    assert Pause().seconds() is None
    assert spec.strategy.wants_analysis()
    shadow = ModelDeploymentSpec.model_validate(azureml_shadow())
    assert [s.weight for s in shadow.canary_steps()] == [100]
    assert shadow.replica_bounds() == (1, 1)
    assert spec.replica_bounds() == (2, 6)


def test_serving_fingerprint_ignores_strategy() -> None:
    a = ModelDeploymentSpec.model_validate(kubernetes_canary())
    changed = kubernetes_canary()
    changed["strategy"]["canary"]["steps"][0]["weight"] = 20
    b = ModelDeploymentSpec.model_validate(changed)
    assert a.serving_fingerprint() == b.serving_fingerprint()
    changed["model"]["version"] = "1.5.0"
    assert ModelDeploymentSpec.model_validate(changed).serving_fingerprint() != a.serving_fingerprint()


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("1.5h", 5400)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "5 m", "1d", "-5m", "m5"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*Go duration such as"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 45, 300, 5400, 3661)] == ["0s", "45s", "5m", "1h30m", "1h1m1s"]


def test_quantities() -> None:
    assert parse_quantity("500m") < parse_quantity("1") < parse_quantity("1.5")
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("1e3") == 1000
    with pytest.raises(ValueError, match="invalid quantity '1 GB'"):
        parse_quantity("1 GB")


def test_feature_threshold_defaults_by_test() -> None:
    assert NumericalFeature(name="x", test="ks").effective_threshold() == 0.05
    assert NumericalFeature(name="x", test="psi").effective_threshold() == 0.2
    assert NumericalFeature(name="x", test="wasserstein", threshold=0.3).effective_threshold() == 0.3
    assert NumericalFeature(name="x").effective_threshold() is None  # the engine's choice, its default


def test_a_threshold_without_a_test_is_refused_since_it_could_be_a_p_value_or_a_distance() -> None:
    with pytest.raises(ValueError, match=r"numerical\[\]\.threshold needs test"):
        NumericalFeature(name="x", threshold=0.3)


def test_every_cel_rule_has_a_python_twin_and_a_field_named_message() -> None:
    from modeldeploy.api import spec as spec_module
    from modeldeploy.api.base import ApiModel

    models = [m for m in vars(spec_module).values() if isinstance(m, type) and issubclass(m, ApiModel)]
    rules = [(m, rule, check) for m in models for rule, check in m.cel_rules()]
    assert len(rules) >= 25
    roots = {
        "target",
        "model",
        "strategy",
        "autoscaling",
        "analysis",
        "rollback",
        "spec",
        "env[]",
        "pause",
        "notifications[]",
        "validation",
        "batch",
    }
    for model, rule, check in rules:
        assert callable(check), model
        first = rule.message.split(" ")[0].split(".")[0]
        fields = {info.alias or name for name, info in model.model_fields.items()}
        assert first in roots | fields, f"{model.__name__}: a message starts with the field: {rule.message!r}"


_EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def _example_specs() -> dict[str, ModelDeploymentSpec]:
    specs = {}
    for path in _EXAMPLES:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "ModelDeployment":
                specs[f"{path.stem}/{doc['metadata']['name']}"] = ModelDeploymentSpec.model_validate(
                    doc["spec"]
                )
    return specs


def test_examples_cover_every_strategy_target_and_seed_model() -> None:
    specs = _example_specs().values()
    assert {s.strategy.type for s in specs if s.strategy} == {"canary", "shadow", "blueGreen"}
    assert any(s.batch is not None and s.batch.schedules and s.batch.data_arrival for s in specs)
    assert {s.target.type for s in specs} == {"kubernetes", "azureml", "serverless"}
    assert {s.target.azureml.endpoint_kind for s in specs if s.target.azureml} == {"managed", "kubernetes"}
    models = {s.model.name for s in specs}
    assert {"budget-optimizer", "propensity-scorer", "anomaly-detector"} <= models
    champion_challenger = [s for s in specs if [st.weight for st in s.canary_steps()] == [10, 100]]
    gates = [s.canary_steps()[0].pause for s in champion_challenger]
    assert any(pause is not None and pause.is_manual for pause in gates)


def test_batch_revision_is_how_it_scores_not_when_or_on_what() -> None:
    spec = ModelDeploymentSpec.model_validate(batch_kubernetes())
    assert spec.batch is not None
    assert spec.strategy is None
    fingerprint = spec.serving_fingerprint()
    assert fingerprint["batch"] == {
        "output": {
            "uri": "file:///data/churn/scores/{revision}",
            "action": "appendRow",
            "fileName": "predictions.csv",
        },
        "miniBatchSize": 500,
        "instanceCount": 2,
        "retries": {"maxRetries": 1, "timeout": "1h"},
    }
    moved = batch_kubernetes()
    moved["batch"]["schedules"] = []
    moved["batch"]["input"] = "file:///data/churn/other/"
    assert ModelDeploymentSpec.model_validate(moved).serving_fingerprint() == fingerprint
    bigger = batch_kubernetes()
    bigger["batch"]["miniBatchSize"] = 1000
    assert ModelDeploymentSpec.model_validate(bigger).serving_fingerprint() != fingerprint


def test_azureml_batch_revision_includes_its_compute_cluster() -> None:
    spec = ModelDeploymentSpec.model_validate(batch_azureml())
    assert spec.batch is not None
    fingerprint = spec.serving_fingerprint()
    assert fingerprint["batch"]["compute"] == "cpu-cluster"  # type: ignore[index]
    gpu = batch_azureml()
    gpu["batch"]["compute"] = "gpu-spot-cluster"
    assert ModelDeploymentSpec.model_validate(gpu).serving_fingerprint() != fingerprint
    named = batch_azureml()
    named["batch"]["output"]["columns"] = ["id", "prediction", "score"]  # how outputs are read: same revision
    assert ModelDeploymentSpec.model_validate(named).serving_fingerprint() == fingerprint
    # Kubernetes batch revisions carry no compute key, so their hashes did not move with the field.
    kube = ModelDeploymentSpec.model_validate(batch_kubernetes()).serving_fingerprint()["batch"]
    assert "compute" not in kube  # type: ignore[operator]


def test_bad_cron_and_zone_in_a_batch_schedule_are_named() -> None:
    bad = batch_kubernetes()
    bad["batch"]["schedules"][0]["cron"]["expression"] = "61 * * * *"
    with pytest.raises(ValidationError, match=r"batch.schedules\[\].cron.expression: cron '61 \* \* \* \*'"):
        ModelDeploymentSpec.model_validate(bad)
    zone = batch_kubernetes()
    zone["batch"]["schedules"][0]["cron"]["timeZone"] = "Mars/Olympus"
    with pytest.raises(ValidationError, match="must be an IANA time zone name"):
        ModelDeploymentSpec.model_validate(zone)
