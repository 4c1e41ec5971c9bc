"""The settings Azure keeps beside an online deployment: its autoscale setting (Azure Monitor, in the resource
group) and its diagnostic setting (AllMetrics to Log Analytics). Both are written only when they differ from
what is there (one "get, compare fingerprints, write" for both), and removed with the deployment: Azure
keeps both after the deployment is gone and re-attaches them to a new one with the same id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.exceptions import ResourceNotFoundError

from modeldeploy.api.azure_names import DIAGNOSTIC_SETTING, autoscale_setting_name, deployment_resource_id
from modeldeploy.api.spec import AzureMLTarget
from modeldeploy.backends.azureml import build, diagnostics
from modeldeploy.backends.azureml.autoscale import build_setting, setting_fingerprint
from modeldeploy.backends.azureml.sdk import AutoscaleOps, DiagnosticSettingsOps
from modeldeploy.ports import Owner, RevisionRequest

T = TypeVar("T")
Call = Callable[[str, Callable[[], Any]], Any]  # the backend's guarded call: (what, fn) -> fn()


def write_if_changed(
    call: Call,
    what: str,
    get: Callable[[], Any],
    write: Callable[[], Any],
    fingerprint: Callable[[Any], object],
    desired: Any,
) -> None:
    try:
        current = call(f"get {what}", get)
    except ResourceNotFoundError:
        current = None
    if current is None or fingerprint(current) != fingerprint(desired):
        call(f"write {what}", write)


@dataclass
class DeploymentSettings:
    autoscale_settings: AutoscaleOps
    diagnostic_settings: DiagnosticSettingsOps
    target: AzureMLTarget
    call: Call

    def resource_id(self, deployment: Any, name: str) -> str:
        if getattr(deployment, "id", None):
            return str(deployment.id)
        t = self.target
        return deployment_resource_id(t.subscription_id, t.resource_group, t.workspace, t.endpoint_name, name)

    def ensure_autoscale(
        self,
        owner: Owner,
        revision: RevisionRequest,
        plan: build.DeploymentPlan,
        endpoint: Any,
        deployment: Any,
    ) -> None:
        if plan.kubernetes:
            return  # scaled by TargetUtilizationScaleSettings on the deployment itself
        name = autoscale_setting_name(self.target.endpoint_name, plan.deployment)
        ops, rg = self.autoscale_settings, self.target.resource_group
        auto = build.autoscale_plan(revision.spec, plan)
        if auto is None:
            self.call(f"delete autoscale {name}", lambda: ops.delete(rg, name))
            return
        try:
            setting = build_setting(
                auto,
                name=name,
                resource_id=self.resource_id(deployment, plan.deployment),
                location=str(endpoint.location),
                tags=build.owner_tags(owner),
            )
        except ValueError as error:
            raise build.invalid("spec.autoscaling", str(error)) from error
        write_if_changed(
            self.call,
            f"autoscale {name}",
            lambda: ops.get(rg, name),
            lambda: ops.create_or_update(rg, name, setting),
            setting_fingerprint,
            setting,
        )

    def delete_autoscale(self, deployment: str) -> None:
        if self.target.endpoint_kind == "kubernetes":
            return
        ops, rg = self.autoscale_settings, self.target.resource_group
        name = autoscale_setting_name(self.target.endpoint_name, deployment)
        self.call(f"delete autoscale {name}", lambda: ops.delete(rg, name))

    def ensure_diagnostics(self, plan: build.DeploymentPlan, deployment: Any, workspace: str | None) -> None:
        """AllMetrics of a managed deployment to the Log Analytics ``workspace`` its revision names."""
        if plan.kubernetes or workspace is None:
            return
        ops, uri = self.diagnostic_settings, self.resource_id(deployment, plan.deployment)
        setting = diagnostics.deployment_setting(workspace)
        write_if_changed(
            self.call,
            f"diagnostic setting of {plan.deployment}",
            lambda: ops.get(uri, DIAGNOSTIC_SETTING),
            lambda: ops.create_or_update(uri, DIAGNOSTIC_SETTING, setting),
            diagnostics.setting_fingerprint,
            setting,
        )

    def delete_diagnostics(self, deployment: Any) -> None:
        """Ours goes before the deployment. Attempted with or without a workspace id in the spec: the field
        may have been removed after the setting was written."""
        if self.target.endpoint_kind == "kubernetes":
            return
        ops, uri = self.diagnostic_settings, self.resource_id(deployment, deployment.name)
        with contextlib.suppress(ResourceNotFoundError):  # the deployment is already gone
            self.call(
                f"delete diagnostic setting of {deployment.name}", lambda: ops.delete(uri, DIAGNOSTIC_SETTING)
            )
