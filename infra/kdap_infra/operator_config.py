"""The `operator` section of the stack config (where the operator runs), and the account its install uses.

`identities.Identities` federates the operator's identity with this namespace and service account;
`operator_install.OperatorInstall` installs it as INSTALLED_NAMESPACE/INSTALLED_SERVICE_ACCOUNT.
"""

from __future__ import annotations

from pydantic import Field

from kdap_infra.config_sections import Section
from modeldeploy.api import platform

# The operator's namespace and ServiceAccount in its kustomize install (deploy/kustomize/base).
INSTALLED_NAMESPACE = platform.HANDOFF_NAMESPACE  # the operator and its handoff ConfigMap live together
INSTALLED_SERVICE_ACCOUNT = "modeldeploy"


class OperatorConfig(Section):
    namespace: str = Field("kdap-system", description="the operator's Kubernetes namespace")
    service_account: str = Field("modeldeploy", description="the operator's Kubernetes service account")
    oidc_issuer_url: str | None = Field(
        None,
        pattern=r"^https://",
        description="the https:// OIDC issuer of the cluster the operator runs in, when AKS is not enabled",
    )
