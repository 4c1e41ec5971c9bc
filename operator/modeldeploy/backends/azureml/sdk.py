"""The slice of the Azure SDKs the backends call, as Protocols.

``MLClient.online_endpoints`` / ``MLClient.online_deployments`` (azure-ai-ml) and
``MonitorManagementClient.autoscale_settings`` (azure-mgmt-monitor) satisfy these structurally; so does
``diagnostics.ArmDiagnosticSettings``, standing in for the diagnostic-settings operation group that
azure-mgmt-monitor 7 no longer ships. The test fakes do too, so the backend is exercised at exactly the
boundary it has in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class Poller(Protocol):
    """``azure.core.polling.LROPoller``: the handle of a long-running operation."""

    def done(self) -> bool: ...

    def result(self, timeout: float | None = None) -> Any: ...


class OnlineEndpointOps(Protocol):
    """``azure.ai.ml.operations.OnlineEndpointOperations``."""

    def get(self, name: str) -> Any: ...

    def get_keys(self, name: str) -> Any: ...

    def begin_create_or_update(self, endpoint: Any) -> Poller: ...

    def begin_delete(self, name: str) -> Poller: ...


class OnlineDeploymentOps(Protocol):
    """``azure.ai.ml.operations.OnlineDeploymentOperations``."""

    def get(self, name: str, endpoint_name: str) -> Any: ...

    def list(self, endpoint_name: str) -> Iterable[Any]: ...

    def begin_create_or_update(self, deployment: Any) -> Poller: ...

    def begin_delete(self, name: str, endpoint_name: str) -> Poller: ...

    def get_logs(self, name: str, endpoint_name: str, lines: int) -> str: ...


class AutoscaleOps(Protocol):
    """``azure.mgmt.monitor.operations.AutoscaleSettingsOperations``."""

    def get(self, resource_group_name: str, autoscale_setting_name: str) -> Any: ...

    def create_or_update(
        self, resource_group_name: str, autoscale_setting_name: str, parameters: Any
    ) -> Any: ...

    def delete(self, resource_group_name: str, autoscale_setting_name: str) -> None: ...


class DiagnosticSettingsOps(Protocol):
    """``diagnostics.ArmDiagnosticSettings`` (the call shapes of azure-mgmt-monitor 6's operation group)."""

    def get(self, resource_uri: str, name: str) -> Any: ...

    def create_or_update(self, resource_uri: str, name: str, parameters: Any) -> Any: ...

    def delete(self, resource_uri: str, name: str) -> None: ...


class BatchEndpointOps(Protocol):
    """``azure.ai.ml.operations.BatchEndpointOperations``."""

    def get(self, name: str) -> Any: ...

    def begin_create_or_update(self, endpoint: Any) -> Poller: ...

    def begin_delete(self, name: str) -> Poller: ...

    def invoke(self, endpoint_name: str, *, deployment_name: str | None = None, **kwargs: Any) -> Any: ...

    def list_jobs(self, endpoint_name: str) -> Iterable[Any]: ...


class BatchDeploymentOps(Protocol):
    """``azure.ai.ml.operations.BatchDeploymentOperations``."""

    def get(self, name: str, endpoint_name: str) -> Any: ...

    def list(self, endpoint_name: str) -> Iterable[Any]: ...

    def begin_create_or_update(self, deployment: Any) -> Poller: ...

    def begin_delete(self, name: str, endpoint_name: str) -> Poller: ...


class JobOps(Protocol):
    """``azure.ai.ml.operations.JobOperations`` (reading a run's job back)."""

    def get(self, name: str) -> Any: ...


class ScheduleOps(Protocol):
    """``azure.ai.ml.operations.ScheduleOperations``."""

    def list(self) -> Iterable[Any]: ...

    def begin_create_or_update(self, schedule: Any) -> Poller: ...

    def begin_delete(self, name: str) -> Poller: ...
