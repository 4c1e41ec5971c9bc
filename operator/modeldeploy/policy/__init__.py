"""Platform policy: which storage, workspaces, registries, metric endpoints and retraining targets the
ModelDeployments of a namespace may use. Pure (no I/O): the controller feeds it from watch caches."""

from .check import TARGET_FIELDS, Policy, Refusal, check, data_refusal, notification_refusal
from .refs import Unsupported

__all__ = [
    "TARGET_FIELDS",
    "Policy",
    "Refusal",
    "Unsupported",
    "check",
    "data_refusal",
    "notification_refusal",
]
