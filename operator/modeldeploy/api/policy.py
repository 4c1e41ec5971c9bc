"""``ModelDeploymentPolicy``: what the platform lets the ModelDeployments of some namespaces use.

The policy is cluster-scoped, so only whoever may write cluster-scoped objects (the platform team) writes
it; a team that may create ModelDeployments in its namespace cannot widen its own grants. Each policy
selects namespaces by their labels and lists grants; several policies selecting one namespace add up. What
no grant covers is refused before the operator does any I/O for that object (``modeldeploy.policy``).

Lists of names accept ``"*"`` for "any". A list left out grants nothing, except ``pathPrefixes`` (left out:
the whole container or datastore), so narrowing is explicit and widening is impossible by accident.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from . import patterns
from .base import ApiModel, cel
from .notifications import Subscription
from .serverless import APIM_SERVICE

# A label key: an optional DNS-subdomain prefix and a name (Kubernetes' qualified name).
_DNS_PREFIX = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
_LABEL_KEY = rf"^{_DNS_PREFIX}[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
# One path segment that is neither "." nor "..", with no percent-encoding or backslash: a prefix means the
# same thing to the operator, to the Blob API and to any HTTP hop between them.
_SEGMENT = r"([^/%\\.]|\.[^/%\\.]|\.\.[^/%\\])[^/%\\]*"
PATH_PREFIX = rf"^/?({_SEGMENT}(/{_SEGMENT})*/?)?$"
LOCAL_PATH_PREFIX = rf"^/({_SEGMENT}(/{_SEGMENT})*/?)?$"
STORAGE_ACCOUNT = r"^[a-z0-9]{3,24}$"
CONTAINER = r"^(\*|\$root|[a-z0-9]([a-z0-9-]{1,61})[a-z0-9])$"
DATASTORE = r"^(\*|[A-Za-z0-9_]{1,255})$"
REGISTRY = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,62}$"
COMPONENT = rf"^(\*|{patterns.AZUREML_NAME})$"
COMPUTE = r"^(\*|[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9])$"
# A Secret's or ServiceAccount's name (a DNS subdomain), or "*".
K8S_NAME_OR_ANY = r"^(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$"
# A host as a URL carries it: a lower-case DNS name or IPv4 address, an optional port.
HOST = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$"
# scheme://host[:port][/path-prefix], no userinfo, query or fragment.
METRIC_ENDPOINT = (
    r"^https?://[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?"
    rf"(/({_SEGMENT}(/{_SEGMENT})*/?)?)?$"
)
# An ARM resource id prefix (a subscription, a resource group or one resource), as Azure Monitor scopes are.
ARM_SCOPE = (
    r"(?i)^/subscriptions/[0-9a-f-]{36}(/resourceGroups/[-0-9A-Za-z_.()]{1,90}"
    r"(/providers/[^\t\n\f\r %\\]{1,400})?)?/?$"
)

_Prefix = Annotated[str, Field(pattern=PATH_PREFIX, max_length=1024)]
_Many = 64


class LabelSelectorRequirement(ApiModel):
    key: str = Field(pattern=_LABEL_KEY, max_length=317)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[Annotated[str, Field(pattern=_LABEL_VALUE, max_length=63)]] = Field(
        default_factory=list, max_length=_Many
    )

    @cel(
        "(self.operator == 'In' || self.operator == 'NotIn') == (size(self.values) > 0)",
        "namespaceSelector.matchExpressions[].values must be non-empty for In and NotIn and empty for "
        "Exists and DoesNotExist",
    )
    def _values_fit_operator(self) -> bool:
        return (self.operator in ("In", "NotIn")) == bool(self.values)

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        match self.operator:
            case "In":
                return present and labels[self.key] in self.values
            case "NotIn":
                return not present or labels[self.key] not in self.values
            case "Exists":
                return present
            case _:
                return not present


class LabelSelector(ApiModel):
    """Kubernetes' label selector: every matchLabels pair and every expression must hold; empty selects
    every namespace."""

    match_labels: dict[Annotated[str, Field(max_length=317)], Annotated[str, Field(max_length=63)]] = Field(
        default_factory=dict, max_length=_Many
    )
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list, max_length=_Many)

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            e.matches(labels) for e in self.match_expressions
        )


class StorageGrant(ApiModel):
    """Blob / ADLS Gen2 paths, as https://, abfss:// and wasbs:// URIs name them."""

    account: str = Field(pattern=STORAGE_ACCOUNT, max_length=24, description="The storage account name.")
    containers: list[Annotated[str, Field(pattern=CONTAINER, max_length=63)]] = Field(
        min_length=1, max_length=_Many, description='Containers (ADLS file systems); "*" for any.'
    )
    path_prefixes: list[_Prefix] | None = Field(
        None, max_length=_Many, description="Folders inside the containers (whole segments); unset: all."
    )


class DatastoreGrant(ApiModel):
    name: str = Field(pattern=DATASTORE, max_length=255, description='A datastore name; "*" for any.')
    path_prefixes: list[_Prefix] | None = Field(None, max_length=_Many)


class WorkspaceGrant(ApiModel):
    """An Azure ML workspace: a target for azureml ModelDeployments (their endpoints, deployments, metrics
    and workspace assets), and the datastores listed, read by azureml:// data URIs."""

    subscription_id: str = Field(pattern=patterns.UUID, max_length=36)
    resource_group: str = Field(pattern=patterns.RESOURCE_GROUP, max_length=90)
    name: str = Field(pattern=patterns.WORKSPACE, max_length=33)
    target: bool = Field(True, description="May azureml targets deploy here (false: datastores only)?")
    datastores: list[DatastoreGrant] = Field(default_factory=list, max_length=_Many)
    computes: list[Annotated[str, Field(pattern=COMPUTE, max_length=32)]] = Field(
        default_factory=list,
        max_length=_Many,
        description="Computes of this workspace ModelDeployments may run on: batch clusters "
        "(spec.batch.compute) and attached Kubernetes clusters of online endpoints "
        '(spec.target.azureml.compute); "*" for any.',
    )


class WorkspaceRef(ApiModel):
    subscription_id: str = Field(pattern=patterns.UUID, max_length=36)
    resource_group: str = Field(pattern=patterns.RESOURCE_GROUP, max_length=90)
    name: str = Field(pattern=patterns.WORKSPACE, max_length=33)


class GatewayGrant(ApiModel):
    """An API Management instance whose adapter routes (named values ``<endpoint>-adapter-<adapter>``) the
    operator may rewrite for serverless targets: that is where their traffic is split."""

    subscription_id: str = Field(pattern=patterns.UUID, max_length=36)
    resource_group: str = Field(pattern=patterns.RESOURCE_GROUP, max_length=90)
    service: str = Field(pattern=APIM_SERVICE, max_length=50)


class PipelineGrant(ApiModel):
    """Retraining pipelines that may be submitted to a workspace, from which components, on which
    computes."""

    workspace: WorkspaceRef
    components: list[Annotated[str, Field(pattern=COMPONENT, max_length=255)]] = Field(
        min_length=1, max_length=_Many, description='Component names; "*" for any.'
    )
    computes: list[Annotated[str, Field(pattern=COMPUTE, max_length=32)]] = Field(
        default_factory=list,
        max_length=_Many,
        description='Computes a pipeline may name; "*" for any (a pipeline naming none runs on the default).',
    )


class WebhookGrant(ApiModel):
    host: str = Field(pattern=HOST, max_length=259, description="host or host:port (443 when left out).")
    secret_names: list[Annotated[str, Field(pattern=patterns.DNS_SUBDOMAIN, max_length=253)]] = Field(
        default_factory=list,
        max_length=_Many,
        description="Secrets in the ModelDeployment's own namespace whose token may be sent to this host.",
    )


class MetricsGrant(ApiModel):
    prometheus: list[Annotated[str, Field(pattern=METRIC_ENDPOINT, max_length=512)]] = Field(
        default_factory=list,
        max_length=_Many,
        description="analysis.prometheusAddress values: scheme://host[:port][/path prefix].",
    )
    azure_monitor_scopes: list[Annotated[str, Field(pattern=ARM_SCOPE, max_length=512)]] = Field(
        default_factory=list,
        max_length=_Many,
        description="ARM id prefixes of Log Analytics workspaces (target.azureml.logAnalyticsWorkspaceId).",
    )


class KubernetesGrant(ApiModel):
    """What the pods of a kubernetes target may use in their own namespace. The operator creates those pods,
    so without this a user who may only write ModelDeployments could run pods with any ServiceAccount
    (and its API rights) or any Secret of the namespace. The Gateway a route attaches to needs no grant here:
    the Gateway's own ``allowedRoutes`` decides which namespaces' routes it accepts."""

    service_accounts: list[Annotated[str, Field(pattern=K8S_NAME_OR_ANY, max_length=253)]] = Field(
        default_factory=list,
        max_length=_Many,
        description='ServiceAccounts target.kubernetes.serviceAccountName may name; "*" for any.',
    )
    secrets: list[Annotated[str, Field(pattern=K8S_NAME_OR_ANY, max_length=253)]] = Field(
        default_factory=list,
        max_length=_Many,
        description='Secrets target.kubernetes.env[].secretKeyRef may read; "*" for any.',
    )


class RetrainingGrant(ApiModel):
    pipelines: list[PipelineGrant] = Field(default_factory=list, max_length=_Many)
    webhooks: list[WebhookGrant] = Field(default_factory=list, max_length=_Many)


class NotificationGrant(ApiModel):
    """Where the ModelDeployments' own ``spec.notifications`` may send, and the platform's defaults."""

    hosts: list[Annotated[str, Field(pattern=HOST, max_length=259)]] = Field(
        default_factory=list,
        max_length=_Many,
        description="host or host:port (443 when left out) a receiver URL read from a Secret may name.",
    )
    secret_names: list[Annotated[str, Field(pattern=K8S_NAME_OR_ANY, max_length=253)]] = Field(
        default_factory=list,
        max_length=_Many,
        description="Secrets in the ModelDeployment's own namespace notifications[].to.secretRef may "
        'name; "*" for any.',
    )
    defaults: list[Subscription] = Field(
        default_factory=list,
        max_length=8,
        description="Subscriptions added to every selected ModelDeployment. Their Secrets are read in the "
        "operator's namespace (the platform's own receivers), and their hosts need no grant.",
    )


class ModelDeploymentPolicySpec(ApiModel):
    """What the ModelDeployments in the selected namespaces may use. Unlisted means refused."""

    namespace_selector: LabelSelector
    storage: list[StorageGrant] = Field(default_factory=list, max_length=_Many)
    local_paths: list[Annotated[str, Field(pattern=LOCAL_PATH_PREFIX, max_length=1024)]] = Field(
        default_factory=list,
        max_length=_Many,
        description="file:// folders (whole segments), inside the operator's --data-root.",
    )
    workspaces: list[WorkspaceGrant] = Field(default_factory=list, max_length=_Many)
    registries: list[Annotated[str, Field(pattern=REGISTRY, max_length=63)]] = Field(
        default_factory=list, max_length=_Many, description="Azure ML registries models and assets come from."
    )
    gateways: list[GatewayGrant] = Field(
        default_factory=list,
        max_length=_Many,
        description="API Management instances serverless targets split adapter traffic in.",
    )
    metrics: MetricsGrant = Field(default_factory=MetricsGrant)
    retraining: RetrainingGrant = Field(default_factory=RetrainingGrant)
    kubernetes: KubernetesGrant = Field(default_factory=KubernetesGrant)
    notifications: NotificationGrant = Field(default_factory=NotificationGrant)
