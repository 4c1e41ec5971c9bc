"""`kdap-platform:aks.installOperator`: the operator's kustomize install applied to the AKS cluster infra/
creates, through a Kubernetes provider built from that cluster's kubeconfig, with the operator's managed
identity in the ServiceAccount's workload-identity annotation, and the Application Insights connection string
in the Secret the operator's Deployment reads. Off (the default), nothing of it exists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kdap_infra.config import ConfigError, parse_config
from kdap_infra.testing import ProgramRun, RegisteredResource, fake_guid, run_config
from tests.infra.configs import minimal

CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
PROVIDER = "pulumi:providers:kubernetes"
SECRET = "kubernetes:core/v1:Secret"
OPERATOR_ACCOUNT = {"namespace": "kdap-system", "serviceAccount": "modeldeploy"}


def _kubernetes(run: ProgramRun) -> list[RegisteredResource]:
    return [
        r for r in run.resources if r.type.startswith(("kubernetes:", PROVIDER, "kdap:aks:OperatorInstall"))
    ]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_off_by_default_nothing_of_kubernetes_is_registered(
    name: str, request: pytest.FixtureRequest
) -> None:
    run: ProgramRun = request.getfixturevalue(name)
    assert run.config.aks.install_operator is False
    assert _kubernetes(run) == [], [r.type for r in _kubernetes(run)]


def test_off_with_aks_enabled_registers_nothing() -> None:
    run = run_config(parse_config(minimal(aks={"enabled": True}, operator=OPERATOR_ACCOUNT)))
    assert run.of_type("azure-native:containerservice:ManagedCluster"), "the cluster itself should exist"
    assert _kubernetes(run) == [], [r.type for r in _kubernetes(run)]


@pytest.fixture(scope="module")
def installed() -> ProgramRun:
    pytest.importorskip("pulumi_kubernetes", reason="pulumi-kubernetes is not installed (pip install it)")
    raw = minimal(aks={"enabled": True, "installOperator": True}, operator=OPERATOR_ACCOUNT)
    return run_config(parse_config(raw))


def _by_urn(run: ProgramRun) -> dict[str, RegisteredResource]:
    return {r.urn: r for r in run.resources}


def test_install_goes_through_a_provider_built_from_the_aks_kubeconfig(installed: ProgramRun) -> None:
    (provider,) = installed.of_type(PROVIDER)
    (cluster,) = installed.of_type("azure-native:containerservice:ManagedCluster")
    assert "kubeconfig" in provider.secret_inputs, "the cluster's kubeconfig must be a secret in the state"
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    aks_name = cluster.inputs["resourceName"]
    assert kubeconfig["clusters"][0]["name"] == aks_name, "the provider must target the cluster infra/ made"
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "kubelogin"

    applied = [*installed.of_type(CONFIG_GROUP), *installed.of_type(SECRET)]
    assert sorted(r.name for r in applied) == ["operator", "operator-appinsights", "operator-workload"]
    parents = _by_urn(installed)
    for resource in applied:
        assert resource.provider.split("::")[:-1] == provider.urn.split("::"), (
            f"{resource.name} must use the AKS provider, not the ambient kubeconfig: {resource.provider!r}"
        )
        component = parents[str(resource.parent)]
        assert component.type == "kdap:aks:OperatorInstall"
        assert parents[str(component.parent)].type == "kdap:aks:OperatorCluster"


def _objects(installed: ProgramRun) -> list[dict[str, Any]]:
    return [o for group in installed.of_type(CONFIG_GROUP) for o in group.inputs["objs"]]


def _app_insights_secret(installed: ProgramRun) -> RegisteredResource:
    (secret,) = installed.of_type(SECRET)
    return secret


def test_app_insights_connection_string_is_a_secret_in_the_operators_namespace(installed: ProgramRun) -> None:
    from kdap_infra.operator_install import APPINSIGHTS_KEY, APPINSIGHTS_SECRET

    secret = _app_insights_secret(installed)
    metadata = secret.inputs["metadata"]
    assert (metadata["namespace"], metadata["name"]) == ("kdap-system", APPINSIGHTS_SECRET)
    (component,) = installed.of_type("azure-native:applicationinsights:Component")
    # The mocks answer connectionString "InstrumentationKey=<guid of the component's physical name>".
    expected = f"InstrumentationKey={fake_guid(component.inputs['resourceName'])}"
    assert secret.inputs["stringData"] == {APPINSIGHTS_KEY: expected}
    assert "data" not in secret.inputs
    assert "stringData" in secret.secret_inputs, "the connection string must be a secret in the state"


def test_deployment_reads_the_secret_and_is_applied_after_it(installed: ProgramRun) -> None:
    from kdap_infra.operator_install import APPINSIGHTS_KEY, APPINSIGHTS_SECRET

    (deployment,) = [o for o in _objects(installed) if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    ref = env["MODELDEPLOY_APPINSIGHTS_CONNECTION_STRING"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": APPINSIGHTS_SECRET, "key": APPINSIGHTS_KEY, "optional": True}

    # An env var from a Secret is read when the pod starts: namespace, then Secret, then Deployment.
    groups = {g.name: g for g in installed.of_type(CONFIG_GROUP)}
    assert [o["kind"] for o in groups["operator-workload"].inputs["objs"]] == ["Deployment"]
    assert "Deployment" not in {o["kind"] for o in groups["operator"].inputs["objs"]}
    secret = _app_insights_secret(installed)
    assert secret.urn in groups["operator-workload"].dependencies
    assert groups["operator"].urn in secret.dependencies


def test_service_account_names_the_operator_identity_and_tenant(installed: ProgramRun) -> None:
    accounts = [o for o in _objects(installed) if o["kind"] == "ServiceAccount"]
    assert [(a["metadata"]["namespace"], a["metadata"]["name"]) for a in accounts] == [
        ("kdap-system", "modeldeploy")
    ]
    annotations = accounts[0]["metadata"]["annotations"]
    assert annotations["azure.workload.identity/client-id"] == installed.outputs["operator_client_id"]
    assert annotations["azure.workload.identity/tenant-id"] == installed.config.tenant_id
    (federated,) = [
        r
        for r in installed.of_type("azure-native:managedidentity:FederatedIdentityCredential")
        if r.inputs["subject"].startswith("system:serviceaccount:kdap-system:")
    ]
    assert federated.inputs["subject"] == "system:serviceaccount:kdap-system:modeldeploy"


def test_the_whole_overlay_is_installed(installed: ProgramRun) -> None:
    from kdap_infra.operator_install import OVERLAYS, render_overlay

    objs = _objects(installed)
    expected = {(o["kind"], o["metadata"]["name"]) for o in render_overlay(OVERLAYS / "dev")}
    assert {(o["kind"], o["metadata"]["name"]) for o in objs} == expected
    kinds = {o["kind"] for o in objs}
    assert {"CustomResourceDefinition", "Namespace", "Deployment", "ClusterRole"} <= kinds, kinds
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels.get("azure.workload.identity/use") == "true", "pods must opt in to workload identity"


def test_missing_service_account_in_the_rendered_install_is_an_error() -> None:
    pytest.importorskip("pulumi_kubernetes", reason="pulumi-kubernetes is not installed (pip install it)")
    from kdap_infra.operator_install import RenderError, with_workload_identity

    with pytest.raises(RenderError, match=r"0 ServiceAccounts kdap-system/modeldeploy, expected 1"):
        with_workload_identity([{"kind": "Namespace", "metadata": {"name": "kdap-system"}}], "c", "t")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"aks": {"installOperator": True}},
            "kdap-platform:aks.installOperator is true but kdap-platform:aks.enabled is false",
        ),
        (
            {
                "aks": {"enabled": True, "installOperator": True},
                "operator": {"serviceAccount": "kdap-operator"},
            },
            "kdap-platform:operator.namespace/serviceAccount are kdap-system/kdap-operator, but the "
            "installed "
            "operator runs as kdap-system/modeldeploy",
        ),
    ],
)
def test_install_config_rules(override: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(**override))
    assert expected in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_the_platform_handoff_is_published_beside_the_operator(installed: ProgramRun) -> None:
    """A ConfigMap in kdap-system carries the stack's handoff: the same document as the stack output."""
    (config_map,) = installed.of_type("kubernetes:core/v1:ConfigMap")
    assert config_map.inputs["metadata"]["namespace"] == "kdap-system"
    assert config_map.inputs["metadata"]["name"] == "kdap-platform"
    published = json.loads(config_map.inputs["data"]["handoff.json"])
    assert published == json.loads(json.dumps(installed.outputs["operator_handoff"]))
    assert set(published["models"]) == {e.name for e in installed.config.endpoints}
    assert config_map.provider.split("::")[:-1] == installed.of_type(PROVIDER)[0].urn.split("::")
