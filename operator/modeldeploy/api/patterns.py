"""Regular expressions shared by the models (RE2-compatible: the apiserver evaluates them in Go).

No ``\\w``, ``\\d``, ``\\s`` or ``\\S``: RE2 reads them as ASCII classes, pydantic's Rust regex as Unicode
ones, so the operator and the apiserver would disagree on what a field admits (and a Unicode class repeated
many times compiles to megabytes). Non-whitespace is spelled ``[^\\t\\n\\f\\r ]``, RE2's ``\\S`` exactly.
"""

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Azure resource group: letters, digits, _ . ( ) -, not ending in a period. The classes are spelled out in
# ASCII rather than as \w: the apiserver's RE2 reads \w as ASCII, pydantic's Rust regex as Unicode, and the
# Unicode class repeated 89 times compiled to about 9 MB per field (most of the operator's idle memory).
RG_CHAR = "[-0-9A-Za-z_.()]"
RG_LAST = "[-0-9A-Za-z_()]"
RESOURCE_GROUP = rf"^{RG_CHAR}{{0,89}}{RG_LAST}$"
# Azure ML workspace: 3-33 characters, starting with a letter or digit.
WORKSPACE = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,32}$"
# Azure ML online endpoint: 3-32 characters, a letter first, letters, digits and hyphens, no trailing hyphen.
ENDPOINT = r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$"
# A Log Analytics workspace's ARM id (ARM ids are case-insensitive).
LOG_ANALYTICS_WORKSPACE_ID = (
    r"(?i)^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rf"/resourceGroups/{RG_CHAR}{{0,89}}{RG_LAST}/providers/Microsoft\.OperationalInsights/workspaces"
    r"/[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$"
)
AZUREML_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}"
ASSET_VERSION = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
SEMVER = (
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


def azureml_asset(kind: str) -> str:
    """``azureml:name:version`` or ``azureml://registries/<r>/<kind>/<name>/versions/<v>``."""
    return (
        rf"^(azureml:{AZUREML_NAME}:{ASSET_VERSION}"
        rf"|azureml://registries/[A-Za-z0-9][A-Za-z0-9_-]{{1,62}}/{kind}/{AZUREML_NAME}/versions/{ASSET_VERSION})$"
    )


MODEL_REF = azureml_asset("models")
ENVIRONMENT_REF = azureml_asset("environments")
COMPONENT_REF = azureml_asset("components")
NON_SPACE = r"[^\t\n\f\r ]"
ARTIFACT_URI = (
    r"^(https://|azureml://(datastores|subscriptions|jobs)/|abfss://|wasbs://|runs:/|models:/|oci://|file:///)"
    rf"{NON_SPACE}+$"
)
DATA_URI = rf"^(https://|azureml://(datastores|subscriptions)/|abfss://|wasbs://|file:///){NON_SPACE}+$"
HTTP_URL = r"^https?://[^\t\n\f\r /]+(/[^\t\n\f\r ]*)?$"
# An OCI image reference: registry[:port]/path[:tag][@sha256:digest].
IMAGE = (
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
# Kubernetes quantity (cpu "500m", memory "2Gi").
QUANTITY = r"^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# Five-field cron (minute hour day-of-month month day-of-week).
CRON = r"^([0-9*/,A-Za-z-]+ ){4}[0-9*/,A-Za-z-]+$"
