"""The platform contract: what infra/ (the Pulumi program) creates and the operator relies on, defined once.

Ownership (README, "One platform"): infra creates each served model's online endpoint shell, its API
Management route and its alerts; the operator creates the deployments inside the endpoint and owns its
traffic. The operator finds an endpoint by name and deploys into it only when the endpoint's owner tag names
the ModelDeployment; the platform tag tells it the endpoint is infra's, so it never deletes or reconfigures
it. Both sides import this module (it sits at the bottom of the operator's layers and imports nothing), so a
key, a value or a path cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .azure_names import TAG_OWNER

AuthMode = Literal["key", "aml_token", "aad_token"]
EndpointKind = Literal["managed", "kubernetes"]

# Where infra publishes its handoff for the operator (infra: operator_install.publish_handoff; operator:
# controller/platform_handoff.py reads it, api/handoff.py fills specs from it).
HANDOFF_NAMESPACE, HANDOFF_CONFIGMAP, HANDOFF_KEY = "kdap-system", "kdap-platform", "handoff.json"


def version_named_value(model: str) -> str:
    """The API Management named value holding a declared model's promoted version: infra creates it (part of
    every cached prediction's key), the operator writes it on promotion, so a cached answer of the previous
    version is never served as the new one's."""
    return f"{model}-model-version"


# Written by infra on endpoints it creates for the operator; value: the stack ("<prefix>-<env>").
TAG_PLATFORM = "kdap-platform"

# Entra ID tokens on managed endpoints (API Management calls with its managed identity: no keys to leak).
# Kubernetes online endpoints do not support Entra tokens; Azure ML tokens are the keyless choice there.
DEFAULT_AUTH_MODE: dict[EndpointKind, AuthMode] = {"managed": "aad_token", "kubernetes": "aml_token"}
# The ARM spelling of each SDK auth mode (OnlineEndpointProperties.authMode).
ARM_AUTH_MODE: dict[AuthMode, str] = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}

# The Azure ML data collector: its collections and where they land. Without a data asset per collection
# the service writes to the workspace's default blob datastore under this folder, one folder per hour.
COLLECTIONS = ("model_inputs", "model_outputs")
COLLECTOR_ROOT = "modelDataCollector"
COLLECTOR_DATASTORE = "workspaceblobstore"
COLLECTOR_SAMPLING_RATE = 1.0  # every request: drift checks need min_sample_size rows per window
COLLECTOR_ROLLING_RATE = "Hour"  # the hour folders the drift reader lists

# The AKS cluster attached to the workspace for endpointKind kubernetes (Azure ML compute names: 2-16).
KUBERNETES_COMPUTE = "aks-inference"
KUBERNETES_INSTANCE_TYPE = "defaultinstancetype"  # the one the Azure ML extension creates
# What a declared model's deployments run on unless the stack says otherwise (published in the handoff; the
# seed examples use the same): a general-purpose SKU on managed endpoints, the extension's type on AKS.
DEFAULT_INSTANCE_TYPE: dict[EndpointKind, str] = {
    "managed": "Standard_DS3_v2",
    "kubernetes": KUBERNETES_INSTANCE_TYPE,
}


# Cost allocation: plain keys (Cost Management groups and filters by tag name), the same on what infra creates
# and on what the operator creates, so one query splits the bill by model, team and cost center.
COST_TAG_MODEL = "model"
COST_TAG_DEPLOYMENT = "modeldeployment"  # namespace/name of the ModelDeployment
COST_TAG_TEAM = "team"
COST_TAG_COST_CENTER = "cost-center"
COST_TAG_ENV = "env"
COST_TAGS = (COST_TAG_MODEL, COST_TAG_DEPLOYMENT, COST_TAG_TEAM, COST_TAG_COST_CENTER, COST_TAG_ENV)
# Namespace labels the operator reads a model's team, cost center and environment from.
LABEL_TEAM = "kdap.io/team"
LABEL_COST_CENTER = "kdap.io/cost-center"
LABEL_ENV = "kdap.io/env"
_FROM_LABELS = (
    (LABEL_TEAM, COST_TAG_TEAM),
    (LABEL_COST_CENTER, COST_TAG_COST_CENTER),
    (LABEL_ENV, COST_TAG_ENV),
)


def cost_tags(
    model: str, namespace: str, name: str, labels: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Cost-allocation tags for a served model; team, cost center and env from the namespace's labels
    (infra passes its own values under the same label keys). A label that is absent is left out rather
    than guessed, so a missing allocation shows up as untagged cost."""
    tags = {COST_TAG_MODEL: model, COST_TAG_DEPLOYMENT: f"{namespace}/{name}"}
    for label, tag in _FROM_LABELS:
        value = (labels or {}).get(label)
        if value:
            tags[tag] = value
    return tags


def owner_tag(namespace: str, name: str) -> dict[str, str]:
    """The tag that makes an endpoint the ModelDeployment ``namespace/name``'s to deploy into."""
    return {TAG_OWNER: f"{namespace}/{name}"}


def platform_endpoint_tags(namespace: str, name: str, stack: str) -> dict[str, str]:
    """Tags infra puts on an endpoint shell it creates for the operator."""
    return owner_tag(namespace, name) | {TAG_PLATFORM: stack}


def is_platform_owned(tags: Mapping[str, str] | None) -> bool:
    return bool((tags or {}).get(TAG_PLATFORM))


def collector_path(endpoint: str, deployment: str, collection: str) -> str:
    """The folder (under the datastore) the data collector writes a deployment's collection to."""
    if collection not in COLLECTIONS:
        raise ValueError(f"unknown data collector collection {collection!r}; one of {COLLECTIONS}")
    return f"{COLLECTOR_ROOT}/{endpoint}/{deployment}/{collection}"


def collector_uri(endpoint: str, deployment: str, collection: str) -> str:
    """The datastore URI of that folder, as ``analysis.drift.live.uri`` takes it."""
    path = collector_path(endpoint, deployment, collection)
    return f"azureml://datastores/{COLLECTOR_DATASTORE}/paths/{path}/"


# The live URI a ModelDeployment on an Azure ML target uses: the operator fills in the placeholders per
# analysis ({endpoint}, {deployment} are the revision under analysis).
LIVE_INPUTS_URI = collector_uri("{endpoint}", "{deployment}", "model_inputs")
LIVE_OUTPUTS_URI = collector_uri("{endpoint}", "{deployment}", "model_outputs")


# --- LLM adapters behind API Management (README "Serverless and LLM models") ---------------------------
# A serverless endpoint has no traffic split, so the gateway splits each adapter's requests between its
# versions. The split is one APIM named value per (endpoint, adapter): infra creates it (value UNROUTED) and
# the LLM API's policy reads it; the operator rewrites it on every traffic change. Its value:
#   owner|<namespace>/<name>,<revision>|<adapter id>|<weight>,...[,mirror|<revision>|<adapter id>|<percent>]
# '|' and ',' appear in no revision name or adapter id (both DNS labels or "<name>:<version>"), so the
# policy's C# splits it without a JSON parser; weights are percent and sum to 100 once anything is routed.
ADAPTER_ROUTES_UNROUTED = "unrouted"
ADAPTER_ROUTES_MAX = 4096  # APIM's limit on a named value's value
ADAPTER_HEADER = "x-kdap-adapter-revision"  # the policy answers with the revision it picked (metrics, tests)
ROUTE_METRIC_DIMENSIONS = ("adapter", "adapter-id", "revision", "subscription")
# The LLM API's policy (llm-emit-token-metric) sends these Application Insights metrics per request that
# reaches the model, with dimensions adapter and revision (the one the split picked; "base" unrouted). They
# land in the workspace's AppMetrics table: infra's token alert and the operator's logAnalytics analysis read
# them.
LLM_METRIC_NAMESPACE = "kdap-llm"
LLM_TOTAL_TOKENS, LLM_PROMPT_TOKENS, LLM_COMPLETION_TOKENS = (
    "Total Tokens",
    "Prompt Tokens",
    "Completion Tokens",
)


def adapter_routes_name(endpoint: str, adapter: str) -> str:
    """The named value holding ``adapter``'s split on serverless endpoint ``endpoint``."""
    return f"{endpoint}-adapter-{adapter}"


Route = tuple[str, str, int]  # (revision, adapter id, weight or mirror percent)


def encode_routes(owner: str, live: list[Route], mirror: Route | None = None) -> str:
    entries = [f"owner|{owner}", *(f"{r}|{a}|{w}" for r, a, w in live)]
    if mirror is not None:
        entries.append("mirror|{}|{}|{}".format(*mirror))
    text = ",".join(entries)
    if len(text) > ADAPTER_ROUTES_MAX:
        raise ValueError(f"adapter routes are {len(text)} characters, over APIM's {ADAPTER_ROUTES_MAX}")
    return text


def decode_routes(text: str) -> tuple[str | None, list[Route], Route | None]:
    """``(owner, live routes, mirror)``; the unrouted value gives ``(None, [], None)``. Raises ValueError on
    anything else, so a hand-edited value stops the operator rather than being half-understood."""
    if text.strip() in ("", ADAPTER_ROUTES_UNROUTED):
        return None, [], None
    owner: str | None = None
    live: list[Route] = []
    mirror: Route | None = None
    for entry in text.split(","):
        parts = entry.split("|")
        if len(parts) == 2 and parts[0] == "owner":
            owner = parts[1]
        elif len(parts) == 4 and parts[0] == "mirror" and parts[3].isdigit():
            mirror = (parts[1], parts[2], int(parts[3]))
        elif len(parts) == 3 and parts[2].isdigit():
            live.append((parts[0], parts[1], int(parts[2])))
        else:
            raise ValueError(f"adapter route entry {entry!r} is not revision|adapter-id|weight")
    return owner, live, mirror
