"""The operator installed into the AKS cluster infra/ creates (``kdap-platform:aks.installOperator: true``).

The kustomize overlay of the stack's env (``deploy/kustomize/overlays/<env>``) is rendered with
``kubectl kustomize`` when the program runs, the ServiceAccount's workload-identity annotations are set to the
operator's managed identity (client id) and the tenant, and the objects are applied by a
``pulumi_kubernetes.yaml.v2.ConfigGroup`` (CRDs and namespaces first) through a ``pulumi_kubernetes.Provider``
built from the cluster's Entra ID user kubeconfig (``listManagedClusterUserCredentials`` in ``exec`` format:
the machine running ``pulumi up`` needs ``kubelogin`` and an AKS RBAC role on the cluster).

The operator's Deployment reads ``MODELDEPLOY_APPINSIGHTS_CONNECTION_STRING`` from the optional Secret
``kdap-system/modeldeploy-appinsights``, key ``connection-string`` (deploy/kustomize/base/deployment.yaml);
this install creates it from the Application Insights component's connection string. The Secret needs the
namespace and the pods need the Secret when they start (an env var from a Secret is read once), so the
install is applied in three steps: everything but the Deployment (ConfigGroup ``operator``), the Secret,
then the Deployment (ConfigGroup ``operator-workload``).
"""

from __future__ import annotations

import base64
import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi_azure_native import containerservice as cs

from kdap_infra.operator_config import INSTALLED_NAMESPACE, INSTALLED_SERVICE_ACCOUNT
from kdap_infra.site import Site
from modeldeploy.api import platform

REPO_ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = REPO_ROOT / "deploy" / "kustomize" / "overlays"
CLIENT_ID = "azure.workload.identity/client-id"
TENANT_ID = "azure.workload.identity/tenant-id"
# The platform handoff (handoff.py) as JSON beside the operator: what ModelDeployments on this stack target.
HANDOFF_CONFIGMAP, HANDOFF_KEY = platform.HANDOFF_CONFIGMAP, platform.HANDOFF_KEY
APPINSIGHTS_SECRET = "modeldeploy-appinsights"  # the names deploy/kustomize/base/deployment.yaml reads
APPINSIGHTS_KEY = "connection-string"

Manifest = dict[str, Any]


class RenderError(RuntimeError):
    pass


def render_overlay(overlay: Path) -> list[Manifest]:
    """The overlay's objects, as ``kubectl kustomize`` renders them (the same as ``kubectl apply -k``)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RenderError(
            "kubectl is not on PATH: aks.installOperator renders deploy/kustomize with `kubectl kustomize`. "
            "Fix: install kubectl, or set kdap-platform:aks.installOperator to false"
        )
    out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RenderError(f"`kubectl kustomize {overlay}` failed: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def with_workload_identity(objs: list[Manifest], client_id: str, tenant_id: str) -> list[Manifest]:
    """A copy of ``objs`` whose operator ServiceAccount names the managed identity and the tenant."""
    patched = copy.deepcopy(objs)
    accounts = [
        o
        for o in patched
        if o.get("kind") == "ServiceAccount"
        and o["metadata"].get("name") == INSTALLED_SERVICE_ACCOUNT
        and o["metadata"].get("namespace") == INSTALLED_NAMESPACE
    ]
    if len(accounts) != 1:
        raise RenderError(
            f"the rendered install has {len(accounts)} ServiceAccounts "
            f"{INSTALLED_NAMESPACE}/{INSTALLED_SERVICE_ACCOUNT}, expected 1: deploy/kustomize and "
            "infra/kdap_infra/operator_install.py disagree on the operator's account; make them name the same"
        )
    annotations = accounts[0]["metadata"].setdefault("annotations", {})
    annotations[CLIENT_ID] = client_id
    annotations[TENANT_ID] = tenant_id
    return patched


def split_workload(objs: list[Manifest]) -> tuple[list[Manifest], list[Manifest]]:
    """``objs`` without the operator's Deployment, and the Deployment (applied once its Secret exists)."""
    workload = [
        o
        for o in objs
        if o.get("kind") == "Deployment" and o["metadata"].get("namespace") == INSTALLED_NAMESPACE
    ]
    if len(workload) != 1:
        raise RenderError(
            f"the rendered install has {len(workload)} Deployments in {INSTALLED_NAMESPACE}, expected 1 "
            "(the operator): deploy/kustomize and infra/kdap_infra/operator_install.py disagree"
        )
    return [o for o in objs if o is not workload[0]], workload


def user_kubeconfig(cluster: cs.ManagedCluster, resource_group_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """The cluster's Entra ID kubeconfig (kubelogin exec plugin), decoded, as a secret."""
    creds = cs.list_managed_cluster_user_credentials_output(
        resource_group_name=resource_group_name, resource_name=cluster.name, format="exec"
    )

    def decode(result: Any) -> str:
        kubeconfigs = result.kubeconfigs or []
        if not kubeconfigs:
            raise RenderError("AKS returned no user kubeconfig for the cluster")
        return base64.b64decode(kubeconfigs[0].value).decode()

    return pulumi.Output.secret(creds.apply(decode))


class OperatorInstall(pulumi.ComponentResource):
    """The operator's kustomize install, applied to ``cluster`` with the operator identity's client id."""

    def __init__(
        self,
        name: str,
        site: Site,
        env: str,
        cluster: cs.ManagedCluster,
        resource_group_name: pulumi.Input[str],
        operator_client_id: pulumi.Input[str],
        app_insights_connection_string: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:aks:OperatorInstall", name, None, opts)
        self.overlay = OVERLAYS / env
        rendered = render_overlay(self.overlay)
        self.provider = k8s.Provider(
            "aks",
            kubeconfig=user_kubeconfig(cluster, resource_group_name),
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        tenant = site.tenant_id
        base, workload = split_workload(rendered)
        objs = pulumi.Output.from_input(operator_client_id).apply(
            lambda client_id: with_workload_identity(base, client_id, tenant)
        )
        self.install = k8s.yaml.v2.ConfigGroup(
            "operator",
            objs=objs,
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        self.app_insights_secret = k8s.core.v1.Secret(
            "operator-appinsights",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=APPINSIGHTS_SECRET,
                namespace=INSTALLED_NAMESPACE,
                labels={"app.kubernetes.io/name": "modeldeploy"},
            ),
            type="Opaque",
            string_data={APPINSIGHTS_KEY: pulumi.Output.secret(app_insights_connection_string)},
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[self.install]),
        )
        self.workload = k8s.yaml.v2.ConfigGroup(
            "operator-workload",
            objs=workload,
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, depends_on=[self.app_insights_secret]
            ),
        )
        self.register_outputs({"overlay": str(self.overlay.relative_to(REPO_ROOT))})

    def publish_handoff(self, handoff: dict[str, Any]) -> k8s.core.v1.ConfigMap:
        """The stack's handoff in `kdap-system/kdap-platform`: a changed stack config shows there on the next
        `pulumi up`, with no edit of any ModelDeployment."""
        return k8s.core.v1.ConfigMap(
            "operator-platform-handoff",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=HANDOFF_CONFIGMAP,
                namespace=INSTALLED_NAMESPACE,
                labels={"app.kubernetes.io/name": "modeldeploy"},
            ),
            data={HANDOFF_KEY: pulumi.Output.json_dumps(handoff, sort_keys=True, indent=2)},
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[self.install]),
        )
