"""The resource graph per stack: types and counts, parents, names, tags, outputs."""

from __future__ import annotations

import re
from collections import Counter

from kdap_infra.config import parse_config
from kdap_infra.naming import Naming
from kdap_infra.serverless import needs_marketplace
from kdap_infra.testing import ProgramRun, run_config
from modeldeploy.api import platform
from tests.infra.configs import minimal

# Resources every stack has, whatever the number of endpoints or optional services.
BASE = {
    "azure-native:resources:ResourceGroup": 1,
    "azure-native:operationalinsights:Workspace": 1,
    "azure-native:applicationinsights:Component": 1,
    "azure-native:storage:StorageAccount": 1,
    "azure-native:storage:BlobServiceProperties": 1,
    "azure-native:storage:BlobContainer": 3,  # training data, inference data, batch outputs
    "azure-native:keyvault:Vault": 1,
    "azure-native:containerregistry:Registry": 1,
    "azure-native:managedidentity:UserAssignedIdentity": 5,
    "azure-native:managedidentity:FederatedIdentityCredential": 1,
    "azure-native:machinelearningservices:Workspace": 1,
    "azure-native:machinelearningservices:Datastore": 3,
    "azure-native:machinelearningservices:Compute": 3,
    "azure-native:machinelearningservices:Registry": 1,
    "azure-native:apimanagement:ApiManagementService": 1,
    "azure-native:apimanagement:Logger": 1,
    "azure-native:apimanagement:Diagnostic": 1,
    "azure-native:authorization:RoleDefinition": 2,  # endpoint scorer, APIM named value writer
    "azure-native:monitor:ActionGroup": 2,
    "azure-native:monitor:SubscriptionDiagnosticSetting": 1,  # the activity log, for audit
}


def expected_counts(run: ProgramRun) -> Counter[str]:
    config = run.config
    n = len(config.endpoints)
    counts = Counter(BASE)
    counts.update(
        {
            "azure-native:machinelearningservices:OnlineEndpoint": n,
            "azure-native:apimanagement:Api": n,
            "azure-native:apimanagement:ApiOperation": n,
            "azure-native:apimanagement:ApiPolicy": n,
            # per model: a backend with its circuit breaker, the version named value, a product with its
            # API link, quota policy and subscription, and a budget
            "azure-native:apimanagement:Backend": n,
            "azure-native:apimanagement:NamedValue": n,
            "azure-native:apimanagement:Product": n,
            "azure-native:apimanagement:ProductApi": n,
            "azure-native:apimanagement:ProductPolicy": n,
            "azure-native:apimanagement:Subscription": n,
            "azure-native:consumption:Budget": 1 + n,
            "azure-native:monitor:MetricAlert": 2 * n,  # latency p99, 5xx rate
            # CPU per endpoint, drift, failed batch runs (the operator's metric), failed Azure ML jobs
            "azure-native:monitor:ScheduledQueryRule": n + 3,
            # foundation (6) + workspace + endpoints + APIM, then the optional services
            "azure-native:monitor:DiagnosticSetting": 6
            + 1
            + n
            + 1
            + config.aks.enabled
            + 3 * config.ai_services.enabled,
            # 10 foundation + 6 workspace (the operator's code uploads for drift Spark jobs among them)
            # + operator on APIM and on batch outputs + gateway (1 + endpoints) + CMK + AI services
            "azure-native:authorization:RoleAssignment": 19
            + n
            + config.workspace.customer_managed_key
            + 3 * config.ai_services.enabled
            # people: each persona's groups get its roles (2 reader, 3 deployer, 1 admin)
            + 2 * len(config.personas.readers)
            + 3 * len(config.personas.deployers)
            + len(config.personas.admins),
        }
    )
    if config.aks.enabled:  # attached to the workspace as Kubernetes compute, with the Azure ML extension
        counts["azure-native:machinelearningservices:Compute"] += 1
        counts["azure-native:kubernetesconfiguration:Extension"] = 1
    optional = {
        "azure-native:containerservice:ManagedCluster": config.aks.enabled,
        "azure-native:keyvault:Key": config.workspace.customer_managed_key,
        "azure-native:cognitiveservices:Account": 2 * config.ai_services.enabled,
        "azure-native:search:Service": config.ai_services.enabled,
    }
    counts.update({k: int(v) for k, v in optional.items() if v})
    if config.ai_services.enabled:  # gpt-4o-mini behind its content filter
        counts.update(
            {"azure-native:cognitiveservices:Deployment": 1, "azure-native:cognitiveservices:RaiPolicy": 1}
        )
    if config.serverless.enabled:  # the LLM API (README "Serverless and LLM models")
        counts.update(
            {
                "azure-native:apimanagement:Api": 1,
                "azure-native:apimanagement:ApiOperation": 1,
                "azure-native:apimanagement:ApiPolicy": 1,
                "azure-native:apimanagement:ApiDiagnostic": 1,  # logs the quota header (blocked alert)
                "azure-native:apimanagement:Backend": 2,  # the serverless endpoint, Content Safety
                "azure-native:apimanagement:NamedValue": len(config.serverless.adapters),  # route tables
                "azure-native:monitor:ScheduledQueryRule": 3,  # tokens, latency, blocked
                # the gateway on Content Safety and the endpoint; the operator on Log Analytics
                "azure-native:authorization:RoleAssignment": 3,
                # its own Content Safety account unless the AI services bring one
                "azure-native:cognitiveservices:Account": int(not config.ai_services.enabled),
            }
        )
        if config.serverless.endpoint_kind == "managed":
            counts.update(_managed_llm())
        else:
            counts["azure-native:machinelearningservices:ServerlessEndpoint"] = 1
            counts["azure-native:authorization:RoleDefinition"] += 1  # serverless endpoint caller
            if needs_marketplace(config.serverless.model_id):
                counts["azure-native:machinelearningservices:MarketplaceSubscription"] = 1
    counts = Counter({k: v for k, v in counts.items() if v})
    if config.is_prod:
        counts["azure-native:authorization:ManagementLockByScope"] = 2  # storage, Log Analytics
    if config.private_networking:
        # blob, file, vault, container registry, workspace, ML registry (+ AI)
        endpoints = 6 + 3 * config.ai_services.enabled
        counts.update(
            {
                "azure-native:network:VirtualNetwork": 1,
                "azure-native:network:NetworkSecurityGroup": 1,
                "azure-native:network:PublicIPAddress": 1,  # APIM in external VNet mode
                "azure-native:privatedns:PrivateZone": 9,
                "azure-native:privatedns:VirtualNetworkLink": 9,
                "azure-native:network:PrivateEndpoint": endpoints,
                "azure-native:network:PrivateDnsZoneGroup": endpoints,
            }
        )
    return counts


def _managed_llm() -> dict[str, int]:
    """The managed serving path instead of the serverless endpoint: its endpoint (declared twice, the second
    time with the traffic, once the deployment exists), the image's environment, one deployment, the
    endpoint's identity on the model and container registries, and what every online endpoint has (logs,
    latency and 5xx alerts, a CPU alert, a budget). The gateway scores it with the existing scorer role."""
    return {
        "azure-native:machinelearningservices:OnlineEndpoint": 2,
        "azure-native:machinelearningservices:EnvironmentVersion": 1,
        "azure-native:machinelearningservices:OnlineDeployment": 1,
        "azure-native:authorization:RoleAssignment": 2,
        "azure-native:monitor:DiagnosticSetting": 1,
        "azure-native:monitor:MetricAlert": 2,
        "azure-native:monitor:ScheduledQueryRule": 1,
        "azure-native:consumption:Budget": 1,
    }


def custom_counts(run: ProgramRun) -> Counter[str]:
    return Counter(r.type for r in run.resources if r.custom)


def test_dev_graph_matches_config(dev: ProgramRun) -> None:
    assert custom_counts(dev) == expected_counts(dev)
    # + the edge per model (#19), the personas, the LLM API (three adapters, its own Content Safety: #20),
    # the operator's named value writer role and its grant, the failed-batch-run alert (#16), the activity
    # log; the LLM API's last pieces: the serverless caller role and its grant, the operator's read of Log
    # Analytics, the API's diagnostic (the quota header); Azure ML batch (#16: the batch-outputs container,
    # its datastore, the operator's grant on it, the failed-job alert); the operator's code uploads for
    # drift Spark jobs (#17)
    assert sum(custom_counts(dev).values()) == 86 + 3 * 7 + 6 + 14 + 2 + 1 + 1 + 4 + 4 + 1


def test_prod_graph_matches_config(prod: ProgramRun) -> None:
    assert custom_counts(prod) == expected_counts(prod)
    # + the LLM API's last pieces, Azure ML batch, the drift Spark jobs' code uploads (as dev's)
    assert sum(custom_counts(prod).values()) == 138 + 3 * 7 + 6 + 13 + 2 + 2 + 1 + 1 + 4 + 4 + 1


def test_managed_llm_graph_matches_config(managed_llm: ProgramRun) -> None:
    assert custom_counts(managed_llm) == expected_counts(managed_llm)
    assert "azure-native:machinelearningservices:ServerlessEndpoint" not in custom_counts(managed_llm)
    serverless = run_config(parse_config(minimal(serverless={"enabled": True, "adapters": [{"name": "a"}]})))
    assert custom_counts(serverless) == expected_counts(serverless)
    # The same LLM API either way; the managed path adds its endpoint's resources and drops the serverless
    # endpoint, its Marketplace offer and the serverless caller role (one route table less: two adapters).
    assert sum(custom_counts(managed_llm).values()) - sum(custom_counts(serverless).values()) == 11 - 3 + 1
    test_every_resource_sits_in_a_kdap_component(managed_llm)
    test_no_resource_declared_twice(managed_llm)


def test_minimal_config_leaves_optional_services_out() -> None:
    run = run_config(parse_config(minimal()))
    counts = custom_counts(run)
    assert counts == expected_counts(run)
    for token in (
        "containerservice:ManagedCluster",
        "cognitiveservices:Account",
        "keyvault:Key",
        "ServerlessEndpoint",
    ):
        assert not any(token in t for t in counts), token
    fic = run.of_type("azure-native:managedidentity:FederatedIdentityCredential")[0]
    assert fic.inputs["issuer"] == "https://oidc.example.com/cluster"


def test_every_resource_sits_in_a_kdap_component(stack: ProgramRun) -> None:
    components = {r.urn: r.type for r in stack.resources if not r.custom}
    assert all(re.fullmatch(r"kdap:[a-z]+:[A-Z][A-Za-z]+", t) for t in components.values())
    orphans = [r.name for r in stack.resources if r.custom and r.parent not in components]
    assert orphans == []


def test_no_resource_declared_twice(stack: ProgramRun) -> None:
    urns = [r.urn for r in stack.resources]
    assert len(urns) == len(set(urns))
    assignments = [
        r.inputs["roleAssignmentName"] for r in stack.of_type("azure-native:authorization:RoleAssignment")
    ]
    assert len(assignments) == len(set(assignments))
    settings = [r.inputs["resourceUri"] for r in stack.of_type("azure-native:monitor:DiagnosticSetting")]
    assert len(settings) == len(set(settings))


def test_references_carry_real_arm_ids(stack: ProgramRun) -> None:
    """Every id one resource passes to another looks like Azure's, so policies can parse it."""

    def strings(value: object) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    ids = [s for r in stack.resources for s in strings(r.inputs) if s.startswith("/subscriptions/")]
    assert len(ids) > 50
    assert [i for i in ids if "/providers/Mock." in i] == []
    assert all(
        re.match(r"/subscriptions/[0-9a-f-]{36}/(resourceGroups/kdap-(dev|prod)-rg|providers/)", i)
        for i in ids
    )


def test_tags_come_from_one_place(stack: ProgramRun) -> None:
    expected = {
        "env": stack.config.env,
        "owner": stack.config.owner,
        "team": stack.config.owner,
        "cost-center": stack.config.cost_center,
        "model": "shared",
        "managed-by": "pulumi",
        "project": "kdap",
    }
    naming = Naming.of(stack.config)
    # What serves one model is tagged for it (its cost tags, from the platform contract).
    models = {
        key: naming.model_tags(e.name, e.namespace, e.team)
        for e in stack.config.endpoints
        for key in (f"ep-{e.name}", *(f"alert-{e.name}-{a}" for a in ("latency-p99", "server-errors", "cpu")))
    }
    tagged = [r for r in stack.resources if "tags" in r.inputs]
    assert len(tagged) >= 25
    # Endpoint shells also carry the platform contract's tags (api/platform.py), from the same naming.
    contract = {
        e.name: platform.platform_endpoint_tags(e.namespace, e.name, Naming.of(stack.config).stack)
        for e in stack.config.endpoints
    }
    for r in tagged:
        extra = contract[r.name.removeprefix("ep-")] if r.type.endswith(":OnlineEndpoint") else {}
        assert r.inputs["tags"] == models.get(r.name, expected) | extra, r.name
    must_tag = [
        "ResourceGroup",
        "StorageAccount",
        "Vault",
        "Registry",
        "Workspace",
        "Compute",
        "OnlineEndpoint",
    ]
    for kind in must_tag:
        assert all("tags" in r.inputs for r in stack.resources if r.custom and r.type.endswith(f":{kind}")), (
            kind
        )


def test_names_follow_the_stack(stack: ProgramRun) -> None:
    env = stack.config.env
    assert stack.outputs["resource_group_name"] == f"kdap-{env}-rg"
    storage = stack.of_type("azure-native:storage:StorageAccount")[0].inputs["accountName"]
    assert re.fullmatch(r"[a-z0-9]{3,24}", storage)
    assert storage.endswith(stack.config.unique_suffix)
    vault = stack.of_type("azure-native:keyvault:Vault")[0].inputs["vaultName"]
    assert len(vault) <= 24
    for endpoint in stack.of_type("azure-native:machinelearningservices:OnlineEndpoint"):
        name = endpoint.inputs["endpointName"]
        assert len(name) <= 32
        # Unique per region across customers: the stack's suffix tells dev and prod apart.
        assert re.fullmatch(rf"kdap-[a-z0-9-]+-{stack.config.unique_suffix}", name)
    longest = Naming("abcdefgh", "prod", "abcdef", "o", "c").regional_name("a" * 16)
    assert len(longest) == 32


def test_outputs_give_the_operator_what_it_needs(stack: ProgramRun) -> None:
    out = stack.outputs
    assert out["workspace_name"] == f"kdap-{stack.config.env}-mlw"
    assert out["workspace_id"].endswith(f"/workspaces/{out['workspace_name']}")
    assert set(out["identity_client_ids"]) == {"workspace", "compute", "endpoints", "operator", "gateway"}
    assert out["operator_client_id"] == out["identity_client_ids"]["operator"]
    assert out["apim_gateway_url"].startswith("https://")
    assert set(out["scoring_urls"]) == {e.name for e in stack.config.endpoints}
    assert all(u.startswith(out["apim_gateway_url"]) for u in out["scoring_urls"].values())
    assert out["oidc_issuer_url"].startswith("https://")
    assert out["drift_metric_name"] == "kdap.drift.distance"
