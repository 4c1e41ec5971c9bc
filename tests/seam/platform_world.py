"""Azure as infra left it: the SDK fakes seeded with exactly the endpoints the Pulumi program registered, and
the links between what infra created (API route, alerts) and what the operator deploys, each checked by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from azure.ai.ml.entities import KubernetesOnlineEndpoint, ManagedOnlineEndpoint

from kdap_infra.testing import ProgramRun
from modeldeploy.api import platform
from modeldeploy.api.azure_names import deployment_resource_id
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.ports import Owner
from tests.backends.azureml.fakes import FakeWorkspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED_EXAMPLES = {
    "budget-optimizer": "azureml-budget-optimizer.yaml",
    "propensity-scorer": "azureml-propensity-scorer.yaml",
    "anomaly-detector": "azureml-anomaly-detector.yaml",
}
_SDK_AUTH = {arm: sdk for sdk, arm in platform.ARM_AUTH_MODE.items()}
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"


def example(file: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / file).read_text())
    return loaded


def handoff(run: ProgramRun) -> dict[str, Any]:
    out: dict[str, Any] = run.outputs["operator_handoff"]
    return out


def seed_workspace(run: ProgramRun) -> FakeWorkspace:
    """A workspace holding the endpoints infra registered, created through the SDK fakes as ARM would."""
    h = handoff(run)
    ws = FakeWorkspace(h["subscriptionId"], h["resourceGroup"], h["workspace"], run.config.location)
    for resource in run.of_type(ENDPOINT):
        inputs = resource.inputs
        common: dict[str, Any] = {
            "name": inputs["endpointName"],
            "auth_mode": _SDK_AUTH[inputs["properties"]["authMode"]],
            "tags": dict(inputs["tags"]),
        }
        if inputs["kind"] == "Kubernetes":
            entity: Any = KubernetesOnlineEndpoint(compute=inputs["properties"]["compute"], **common)
        else:
            entity = ManagedOnlineEndpoint(**common)
        ws.online_endpoints.begin_create_or_update(entity)
    ws.calls.clear()
    return ws


def spec_for(run: ProgramRun, model: str, manifest: dict[str, Any]) -> tuple[Owner, ModelDeploymentSpec]:
    """The seed example with the handoff's subscription (the examples carry a placeholder one)."""
    manifest["spec"]["target"]["azureml"]["subscriptionId"] = handoff(run)["subscriptionId"]
    law = manifest["spec"]["target"]["azureml"].get("logAnalyticsWorkspaceId")
    if law is not None:
        manifest["spec"]["target"]["azureml"]["logAnalyticsWorkspaceId"] = handoff(run)[
            "logAnalyticsWorkspaceId"
        ]
    meta = manifest["metadata"]
    owner = Owner(namespace=meta["namespace"], name=meta["name"], uid=f"uid-{model}")
    return owner, ModelDeploymentSpec.model_validate(manifest["spec"])


@dataclass(frozen=True)
class Served:
    """What the operator ended with on one endpoint: its name and the deployment that serves 100 %."""

    model: str
    endpoint: str
    deployment: str


def broken_links(run: ProgramRun, ws: FakeWorkspace, served: Served) -> list[str]:
    """Every link from infra's resources to what the operator deployed that does not hold, by name."""
    broken: list[str] = []
    h, model = handoff(run), served.model
    declared = h["models"].get(model)
    if declared is None or declared["endpointName"] != served.endpoint:
        broken.append(
            f"endpoint: {model} serves on {served.endpoint}, "
            f"infra created {declared and declared['endpointName']}"
        )
        return broken
    rest = ws.endpoints.get(served.endpoint)
    tags = dict(rest.tags or {}) if rest is not None else {}
    for key, value in declared["tags"].items():
        if tags.get(key) != value:
            broken.append(
                f"tag {key}: endpoint {served.endpoint} has {tags.get(key)!r}, the contract says {value!r}"
            )
    api = run.named("azure-native:apimanagement:Api", f"api-{model}").inputs
    if f"//{served.endpoint}." not in api["serviceUrl"]:
        broken.append(f"APIM route models/{model}: backend {api['serviceUrl']} is not {served.endpoint}")
    endpoint_id = run.outputs["online_endpoint_ids"][model]
    for alert in ("latency-p99", "server-errors"):
        scopes = run.named("azure-native:monitor:MetricAlert", f"alert-{model}-{alert}").inputs["scopes"]
        if not endpoint_id.endswith(f"/onlineEndpoints/{served.endpoint}") or scopes != [endpoint_id]:
            broken.append(f"alert {model}-{alert}: watches {scopes}, not endpoint {served.endpoint}")
    cpu = run.named("azure-native:monitor:ScheduledQueryRule", f"alert-{model}-cpu").inputs
    (condition,) = cpu["criteria"]["allOf"]
    dep_id = deployment_resource_id(
        ws.subscription, ws.resource_group, ws.workspace, served.endpoint, served.deployment
    )
    marker = f"/onlineendpoints/{served.endpoint}/deployments/"
    if marker not in condition["query"] or marker not in dep_id.lower():
        broken.append(f"alert {model}-cpu: its query does not select deployments of {served.endpoint}")
    deployment = ws.deployments.get((served.endpoint, served.deployment))
    collector = getattr(deployment.properties, "data_collector", None) if deployment is not None else None
    on = {
        name: str(c.get("dataCollectionMode") if isinstance(c, dict) else c.data_collection_mode).lower()
        for name, c in ((collector.collections or {}).items() if collector is not None else [])
    }
    for collection in platform.COLLECTIONS:
        if on.get(collection) != "enabled":
            broken.append(
                f"data collector {collection}: off on deployment {served.deployment} of {served.endpoint}"
            )
    return broken
