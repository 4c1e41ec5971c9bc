"""The stack config model: valid stacks load; bad values fail before any resource, naming key and fix."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from kdap_infra.config import ConfigError, load_from_engine, load_stack_file, parse_config
from kdap_infra.testing import REPO_ROOT, PlatformMocks, RecordingMonitor, stack_file
from tests.infra.configs import minimal


def error_of(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return str(caught.value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_load(stack: str) -> None:
    config = load_stack_file(str(stack_file(stack)))
    assert config.env == stack
    assert config.compute.gpu_vm_size == "Standard_NC6s_v3"


def test_pulumi_yaml_runs_infra() -> None:
    import yaml

    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "kdap-platform"
    assert project["main"] == "infra/"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (REPO_ROOT / "infra" / "__main__.py").is_file()


def test_defaults_fill_what_is_left_out() -> None:
    config = parse_config(minimal())
    assert config.compute.idle_minutes == 15
    assert config.apim.sku == "Developer"
    assert config.aks.enabled is False
    assert config.alerts.latency_p99_ms == 500


def test_engine_strings_parse_like_yaml_values() -> None:
    """The engine hands every value over as text, structured ones as JSON."""
    raw = minimal(logRetentionDays="60", compute=json.dumps({"gpuMaxNodes": 3}))
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    config = parse_config(raw)
    assert config.log_retention_days == 60
    assert config.compute.gpu_max_nodes == 3
    assert config.endpoints[0].name == "churn"


@pytest.mark.parametrize(
    ("override", "key", "fix"),
    [
        ({"env": "staging"}, "kdap-platform:env", "set `kdap-platform:env` to dev or prod"),
        ({"prefix": "KDAP"}, "kdap-platform:prefix", "2-8 lowercase letters or digits"),
        ({"tenantId": "contoso"}, "kdap-platform:tenantId", "the Entra ID tenant id (a GUID)"),
        ({"logRetentionDays": 7}, "kdap-platform:logRetentionDays", "30-730 days"),
        (
            {"endpoints": [{"name": "Churn_Model"}]},
            "kdap-platform:endpoints[0].name",
            "3-20 lowercase letters",
        ),
        ({"endpoints": []}, "kdap-platform:endpoints", "the models served"),
        ({"compute": {"idleMinutes": 1}}, "kdap-platform:compute.idleMinutes", "from 2 to 120"),
        ({"compute": {"gpuMaxNodes": 0}}, "kdap-platform:compute.gpuMaxNodes", "an integer from 1 to 100"),
        (
            {"alerts": {"onCallEmails": ["pager"], "devTeamEmails": ["d@example.com"]}},
            "kdap-platform:alerts.onCallEmails[0]",
            "on-call addresses",
        ),
        (
            {
                "alerts": {
                    "onCallEmails": ["o@example.com"],
                    "devTeamEmails": ["d@example.com"],
                    "driftThreshold": 2,
                }
            },
            "kdap-platform:alerts.driftThreshold",
            "the drift distance (0-1)",
        ),
        (
            {"budget": {"amount": 0, "contactEmails": ["f@example.com"]}},
            "kdap-platform:budget.amount",
            "monthly",
        ),
        (
            {"budget": {"amount": 5, "contactEmails": ["f@example.com"], "startDate": "2026-01-15"}},
            "kdap-platform:budget.startDate",
            "the first day of a month",
        ),
        (
            {"apim": {"publisherName": "x", "audience": "api://x"}},
            "kdap-platform:apim.publisherEmail",
            "e-mail",
        ),
        (
            {"serverless": {"enabled": True, "modelId": "gpt-4"}},
            "kdap-platform:serverless.modelId",
            "azureml://",
        ),
        (
            {"workspace": {"approvedFqdns": ["https://pypi.org/simple"]}},
            "kdap-platform:workspace.approvedFqdns[0]",
            "host names (such as pypi.org",
        ),
    ],
)
def test_bad_value_names_key_and_fix(override: dict[str, Any], key: str, fix: str) -> None:
    message = error_of(minimal(**override))
    assert f"{key}:" in message
    assert "Fix:" in message
    assert fix in message


def test_missing_value_is_reported_as_missing() -> None:
    raw = minimal()
    del raw["budget"]
    message = error_of(raw)
    assert (
        "kdap-platform:budget: is missing. Fix: set `kdap-platform:budget` to the consumption budget"
        in message
    )


def test_unknown_key_is_a_typo() -> None:
    message = error_of(
        minimal(alerts={"onCallEmails": ["o@x.io"], "devTeamEmails": ["d@x.io"], "latencyP95Ms": 3})
    )
    assert (
        "kdap-platform:alerts.latencyP95Ms: is not a known setting. Fix: remove it or correct its spelling"
        in message
    )


def test_every_error_is_reported_at_once() -> None:
    message = error_of(minimal(prefix="X", location="West Europe"))
    assert "kdap-platform:prefix" in message
    assert "kdap-platform:location" in message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {
                "env": "prod",
                "apim": {"publisherEmail": "p@x.io", "publisherName": "k", "audience": "api://k"},
            },
            "kdap-platform:apim.sku is Developer, which has no SLA, in prod. Fix: set it to Premium",
        ),
        (
            {"operator": {}},
            "kdap-platform:operator.oidcIssuerUrl is required when kdap-platform:aks.enabled is false. Fix:",
        ),
        (
            {"endpoints": [{"name": "propensity-scorer-v2"}], "prefix": "kdapplat"},
            "kdap-platform:endpoints: 'propensity-scorer-v2' makes the endpoint name 34 characters long",
        ),
        (
            {"endpoints": [{"name": "scorer", "kind": "kubernetes"}]},
            "kdap-platform:endpoints: 'scorer' is kind kubernetes but kdap-platform:aks.enabled is false",
        ),
        (
            {"endpoints": [{"name": "churn"}, {"name": "churn"}]},
            "kdap-platform:endpoints: names repeat (['churn', 'churn']). Fix: give each endpoint its own",
        ),
        (
            {
                "budget": {
                    "amount": 1,
                    "contactEmails": ["f@x.io"],
                    "actualPercent": [50, 80, 100],
                    "forecastPercent": [90, 100, 120],
                }
            },
            "kdap-platform:budget has 6 thresholds and Azure allows 5. Fix:",
        ),
    ],
)
def test_cross_field_rules(override: dict[str, Any], expected: str) -> None:
    assert expected in error_of(minimal(**override))


def test_stack_file_with_bad_value_fails(tmp_path: Path) -> None:
    text = (
        stack_file("dev")
        .read_text()
        .replace("kdap-platform:costCenter: CC-4711", "kdap-platform:costCenter: ''")
    )
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(text)
    with pytest.raises(
        ConfigError, match=r"kdap-platform:costCenter: is invalid .* Fix: set `kdap-platform:costCenter`"
    ):
        load_stack_file(str(bad))


def test_main_fails_before_registering_any_resource() -> None:
    """`pulumi up` path: infra/__main__.py reads the engine's config, and a bad value stops it cold."""
    monitor = RecordingMonitor(PlatformMocks())
    pulumi.runtime.settings.reset_options()
    pulumi.runtime.set_mocks(
        PlatformMocks(), project="kdap-platform", stack="bad", preview=True, monitor=monitor
    )
    engine_config = {
        f"kdap-platform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in minimal().items()
    }
    engine_config["kdap-platform:env"] = "qa"
    engine_config["azure-native:location"] = "westeurope"
    pulumi.runtime.set_all_config(engine_config)
    try:
        with pytest.raises(ConfigError, match=r"kdap-platform:env: is invalid .*qa") as caught:
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(REPO_ROOT / "infra" / "__main__.py"))))
    finally:
        pulumi.runtime.set_all_config({})
    assert "kdap-platform:location" not in str(caught.value)  # the other keys were read
    assert monitor.registered == []


def test_engine_path_reports_misspelt_keys() -> None:
    pulumi.runtime.set_all_config({"kdap-platform:costCentre": "CC-1"})
    try:
        with pytest.raises(ConfigError, match=r"kdap-platform:costCentre: is not a known setting"):
            load_from_engine()
    finally:
        pulumi.runtime.set_all_config({})


def test_main_runs_with_engine_config() -> None:
    monitor = RecordingMonitor(PlatformMocks())
    pulumi.runtime.settings.reset_options()
    pulumi.runtime.set_mocks(
        PlatformMocks(), project="kdap-platform", stack="engine", preview=False, monitor=monitor
    )
    pulumi.runtime.set_all_config(
        {f"kdap-platform:{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in minimal().items()}
    )
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(REPO_ROOT / "infra" / "__main__.py"))))
    finally:
        pulumi.runtime.set_all_config({})
    assert any(r.type == "azure-native:machinelearningservices:Workspace" for r in monitor.registered)
