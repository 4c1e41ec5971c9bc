"""The ModelDeployment API (group mlops.kdap.io, version v1alpha1): typed models the CRD is generated from."""

from .duration import format_duration, parse_duration
from .spec import (
    Analysis,
    Autoscaling,
    AzureMLTarget,
    BlueGreen,
    Canary,
    CanaryStep,
    Drift,
    KubernetesTarget,
    Metric,
    ModelDeploymentSpec,
    ModelSource,
    Pause,
    Rollback,
    Shadow,
    Strategy,
    Target,
)

GROUP = "mlops.kdap.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "ModelDeployment"
PLURAL = "modeldeployments"
SINGULAR = "modeldeployment"
SHORT_NAMES = ("mdep",)
POLICY_KIND = "ModelDeploymentPolicy"
POLICY_PLURAL = "modeldeploymentpolicies"
CATEGORIES = ("kdap", "mlops")

__all__ = [
    "API_VERSION",
    "CATEGORIES",
    "GROUP",
    "KIND",
    "PLURAL",
    "POLICY_KIND",
    "POLICY_PLURAL",
    "SHORT_NAMES",
    "SINGULAR",
    "VERSION",
    "Analysis",
    "Autoscaling",
    "AzureMLTarget",
    "BlueGreen",
    "Canary",
    "CanaryStep",
    "Drift",
    "KubernetesTarget",
    "Metric",
    "ModelDeploymentSpec",
    "ModelSource",
    "Pause",
    "Rollback",
    "Shadow",
    "Strategy",
    "Target",
    "format_duration",
    "parse_duration",
]
