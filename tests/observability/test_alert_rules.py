"""The on-call kit in deploy/kustomize/components/monitoring: alerts unit-tested with promtool, and every
metric the alerts and the dashboard name is one the operator exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeldeploy.observability import metrics
from tests.deploy.render import render

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "kustomize" / "components" / "monitoring"
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool comes with `make sysdeps` (prometheus)")
UNIT_TESTS = Path(__file__).with_name("alert_rules_test.yaml")
METRIC = re.compile(r"\b(modeldeploy_[a-z_]+)\b")


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())["spec"][
        "groups"
    ]
    return groups


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MONITORING / "dashboard.json").read_text())
    return loaded


def dashboard_exprs() -> list[str]:
    return [t["expr"] for panel in dashboard()["panels"] for t in panel["targets"]]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


class _Queue:
    adds = retries = 0

    def stats(self) -> Any:
        figures = {"depth": 0, "oldest_age": 0.0, "processing": 0, "longest_running": 0.0, "scheduled": 0}
        return type("S", (), figures)()


def exported() -> set[str]:
    """Every series name the operator's registry can produce (labelled families have no samples until used,
    so names come from the families and their types)."""
    metrics.register_queue(_Queue(), workers=1, objects=lambda: 0)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {
        family.name + suffix
        for family in metrics.REGISTRY.collect()
        for suffix in suffixes.get(family.type, ("",))
    }


def test_every_metric_the_alerts_and_the_dashboard_name_is_exported() -> None:
    named = {m for g in rule_groups() for r in g["rules"] for m in METRIC.findall(r["expr"])}
    named |= {m for expr in dashboard_exprs() for m in METRIC.findall(expr)}
    assert len(named) >= 12
    assert named - exported() == set()


def test_the_rules_and_every_dashboard_query_parse(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups()}))
    checked = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 10 rules found" in checked.stdout
    # Dashboard queries as recording rules (Grafana's variables replaced), so promtool parses each one.
    records = [
        {"record": f"dashboard:query_{i}", "expr": expr.replace("$namespace", ".*").replace("$name", ".*")}
        for i, expr in enumerate(dashboard_exprs())
    ]
    (tmp_path / "dash.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    parsed = promtool("check", "rules", "dash.yaml", cwd=tmp_path)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr


def test_each_alert_fires_on_its_trouble_and_stays_quiet_otherwise(tmp_path: Path) -> None:
    """The cases in alert_rules_test.yaml: each alert names what it is about, and only that."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups()}))
    shutil.copy(UNIT_TESTS, tmp_path / "tests.yaml")
    out = promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    cases = yaml.safe_load(UNIT_TESTS.read_text())["tests"][0]["alert_rule_test"]
    tested = {t["alertname"] for t in cases}
    assert tested == {r["alert"] for g in rule_groups() for r in g["rules"]}


def test_prod_installs_the_kit_with_the_dashboard_provisioned_for_grafana() -> None:
    docs = render("overlays/prod")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("PrometheusRule", "modeldeploy"), ("ServiceMonitor", "modeldeploy")} <= kinds
    cm = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "modeldeploy-dashboard"
    )
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["modeldeploy.json"]) == dashboard()
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    service = next(
        d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "modeldeploy-metrics"
    )
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
