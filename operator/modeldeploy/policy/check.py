"""The policy check: (spec, namespace, its labels, every policy) -> refusals. Pure: no I/O, no clock.

Every reference the operator (or Azure ML on its behalf) would act on is listed with its field path and
checked against the union of the grants of the policies selecting the namespace. On a Kubernetes target the
model's registry, artifact, code and environment references are never resolved by the operator (the image
carries the model), so data, metrics and retraining references are checked there, and the ServiceAccount and
Secrets the revision's pods would run with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec, ServerlessTarget
from modeldeploy.policy.data_grants import DataGrants, covers, granted_path, workspace_of
from modeldeploy.policy.refs import (
    KQL_REACH_NAMES,
    Unsupported,
    Workspace,
    endpoint,
    input_kind,
    kql_reach,
    registry_of,
    secret_url_host,
    within,
)

_WORKSPACE_ASSETS = ("runs:/", "models:/", "azureml://jobs/")
# The refusals that mean the operator may not act where the target is (not even to clean up on delete).
TARGET_FIELDS = ("spec.target.azureml", "spec.target.serverless", "spec.target.serverless.gateway")


@dataclass(frozen=True)
class Policy:
    name: str
    spec: ModelDeploymentPolicySpec


@dataclass(frozen=True)
class Refusal:
    field: str  # spec.analysis.drift.reference.uri
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def check(
    spec: ModelDeploymentSpec,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    policies: Iterable[Policy],
) -> list[Refusal]:
    """What ``spec`` references that no policy selecting ``namespace`` grants, in field order."""
    selected = [p.spec for p in policies if p.spec.namespace_selector.matches(dict(labels))]
    return list(_Check(spec, namespace, name, selected).refusals())


def data_refusal(
    spec: ModelDeploymentSpec,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    policies: Iterable[Policy],
    uri: str,
) -> str | None:
    """Why one data URI met at run time (e.g. in an MLTable's ``paths``) is refused; None: granted."""
    selected = [p.spec for p in policies if p.spec.namespace_selector.matches(dict(labels))]
    reason = _Check(spec, namespace, name, selected).data(uri)
    if reason is None:
        return None
    return reason if reason.startswith(uri) else f"{uri}: {reason}"  # parse errors name the URI already


def notification_refusal(
    spec: ModelDeploymentSpec,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    policies: Iterable[Policy],
    url: str,
) -> str | None:
    """Why a receiver URL read from a subscription's Secret may not be posted to; None: granted. The URL
    is a secret, so a refusal names only its host (or why it has none this check accepts)."""
    selected = [p.spec for p in policies if p.spec.namespace_selector.matches(dict(labels))]
    return _Check(spec, namespace, name, selected).notification_url(url)


class _Check(DataGrants):
    def __init__(
        self, spec: ModelDeploymentSpec, namespace: str, name: str, grants: list[ModelDeploymentPolicySpec]
    ) -> None:
        self.spec, self.namespace, self.name, self.grants = spec, namespace, name, grants
        # The workspace the operator acts in: an azureml target's, or the one holding a serverless endpoint.
        target = spec.target.azureml or spec.target.serverless
        self.target = (
            Workspace(target.subscription_id, target.resource_group, target.workspace) if target else None
        )

    def refusals(self) -> Iterator[Refusal]:
        for field, reason in self._reasons():
            if reason is not None:
                yield Refusal(field, reason)

    def _reasons(self) -> Iterator[tuple[str, str | None]]:
        spec, target = self.spec, self.spec.target.azureml
        if target is not None:
            yield from self._azureml(target)
        if spec.target.serverless is not None:
            yield from self._serverless(spec.target.serverless)
        kube = spec.target.kubernetes
        if kube is not None and kube.service_account_name is not None:
            yield "spec.target.kubernetes.serviceAccountName", self.service_account(kube.service_account_name)
        for i, env in enumerate(kube.env if kube is not None else []):
            if env.secret_key_ref is not None:
                yield (
                    f"spec.target.kubernetes.env[{i}].secretKeyRef.name",
                    self.secret(env.secret_key_ref.name),
                )
        analysis = spec.analysis
        if analysis is not None and analysis.prometheus_address is not None:
            yield "spec.analysis.prometheusAddress", self.prometheus(analysis.prometheus_address)
        for i, metric in enumerate(analysis.metrics if analysis is not None else []):
            if metric.provider == "logAnalytics" and metric.query is not None:  # run as the operator
                yield f"spec.analysis.metrics[{i}].query", self.kql(metric.query)
            shared = analysis is not None and analysis.prometheus_address is None
            if metric.provider == "prometheus" and metric.query is not None and shared:
                yield f"spec.analysis.metrics[{i}].query", self.shared_promql(metric.query)
        if analysis is not None and analysis.drift is not None:
            yield "spec.analysis.drift.reference.uri", self.data(analysis.drift.reference.uri)
            yield "spec.analysis.drift.live.uri", self.data(analysis.drift.live.uri)
        validation = self.spec.validation
        if validation is not None and validation.requests_uri is not None:
            yield "spec.validation.requestsUri", self.data(validation.requests_uri)
        if validation is not None and validation.evaluation is not None:
            yield "spec.validation.evaluation.dataUri", self.data(validation.evaluation.data_uri)
        yield from self._batch()
        retrain = spec.rollback.retrain
        if retrain is not None and retrain.event is not None:
            yield from self.webhook(retrain.event.url, retrain.event.secret_ref)
        if retrain is not None and retrain.azureml_pipeline is not None and self.target is not None:
            job = retrain.azureml_pipeline
            yield from self.pipeline(self.target, job.component, job.compute)
            for key, value in job.inputs.items():  # a data input is read, or uploaded, by azure-ai-ml
                yield f"spec.rollback.retrain.azuremlPipeline.inputs.{key}", self.pipeline_input(value)
        for i, sub in enumerate(spec.notifications):
            yield (
                f"spec.notifications[{i}].to.secretRef.name",
                self.notification_secret(sub.to.secret_ref.name),
            )

    def shared_promql(self, query: str) -> str | None:
        from modeldeploy.policy.promql import unbound_selectors

        serverless = self.spec.target.serverless
        return unbound_selectors(query, self.namespace, serverless.adapter if serverless else None)

    def _batch(self) -> Iterator[tuple[str, str | None]]:
        # The scoring pods read and write these with their own identity, and the operator reads the
        # outputs, the validation input's results and the watched folder with its own: all need a grant.
        b = self.spec.batch
        if b is None:
            return
        if b.input is not None:
            yield "spec.batch.input", self.data(b.input)
        yield "spec.batch.output.uri", self.data(b.output.uri)
        if b.rollout is not None:
            yield "spec.batch.rollout.input", self.data(b.rollout.input)
        if b.data_arrival is not None:
            yield "spec.batch.dataArrival.uri", self.data(b.data_arrival.uri)
        if b.compute is not None and self.target is not None:  # a cluster of the target's workspace
            yield "spec.batch.compute", self.compute(self.target, b.compute)

    def _azureml(self, target: AzureMLTarget) -> Iterator[tuple[str, str | None]]:
        assert self.target is not None
        yield "spec.target.azureml", self.workspace_target(self.target)
        if target.compute is not None:  # an attached Kubernetes cluster: granted like a batch cluster
            yield "spec.target.azureml.compute", self.compute(self.target, target.compute)
        if target.log_analytics_workspace_id is not None:
            yield (
                "spec.target.azureml.logAnalyticsWorkspaceId",
                self.monitor(target.log_analytics_workspace_id),
            )
        model = self.spec.model
        if model.registry is not None:
            yield "spec.model.registry", self.registry(model.registry)
        if model.artifact_uri is not None:
            yield "spec.model.artifactUri", self.asset(model.artifact_uri)
        reg = model.registration
        if reg is not None and reg.registry is not None:  # the operator writes a version there
            yield "spec.model.registration.registry", self.registry(f"azureml://registries/{reg.registry}/")
        if model.code is not None:
            uri = model.code.uri
            yield "spec.model.code.uri", self.asset("file://" + uri if uri.startswith("/") else uri)
        if model.environment is not None and model.environment.azureml is not None:
            yield "spec.model.environment.azureml", self.registry(model.environment.azureml)

    def _serverless(self, target: ServerlessTarget) -> Iterator[tuple[str, str | None]]:
        assert self.target is not None
        yield "spec.target.serverless", self.workspace_target(self.target)
        yield "spec.target.serverless.gateway", self.gateway(target)
        analysis = self.spec.analysis
        reads_logs = analysis is not None and any(m.provider == "logAnalytics" for m in analysis.metrics)
        if reads_logs and target.log_analytics_workspace_id is not None:  # queried as the operator
            yield (
                "spec.target.serverless.logAnalyticsWorkspaceId",
                self.monitor(target.log_analytics_workspace_id),
            )
        if self.spec.model.registry is not None:
            yield "spec.model.registry", self.registry(self.spec.model.registry)

    # ---- one check per kind of reference; None: granted ----------------------------------------------

    def service_account(self, name: str) -> str | None:
        granted = [a for p in self.grants for a in p.kubernetes.service_accounts]
        if name in granted or "*" in granted:
            return None
        return self.denied(f'ServiceAccount "{name}"', granted)

    def secret(self, name: str) -> str | None:
        granted = [a for p in self.grants for a in p.kubernetes.secrets]
        if name in granted or "*" in granted:
            return None
        return self.denied(f'Secret "{name}"', granted)

    def workspace_target(self, ws: Workspace) -> str | None:
        grants = [g for g in self._workspaces() if g.target]
        if any(workspace_of(g).key() == ws.key() for g in grants):
            return None
        return self.denied(f'Azure ML workspace "{ws}"', (str(workspace_of(g)) for g in grants))

    def compute(self, ws: Workspace, name: str) -> str | None:
        granted = [c for g in self._workspaces() if workspace_of(g).key() == ws.key() for c in g.computes]
        ok = name.lower() in (c.lower() for c in granted) or "*" in granted
        return None if ok else self.denied(f'compute "{name}" of Azure ML workspace "{ws}"', granted)

    def gateway(self, target: ServerlessTarget) -> str | None:
        gw = target.gateway
        want = f"{target.subscription_id}/{gw.resource_group}/{gw.service}"
        grants = [g for p in self.grants for g in p.gateways]
        granted = [f"{g.subscription_id}/{g.resource_group}/{g.service}" for g in grants]
        if want.lower() in (g.lower() for g in granted):
            return None
        return self.denied(f'API Management "{want}"', granted)

    def registry(self, ref: str) -> str | None:
        registry = registry_of(ref)
        if registry is None:
            return None  # a workspace asset: in the target's workspace, granted above or refused there
        granted = [r for p in self.grants for r in p.registries]
        if registry in (r.lower() for r in granted):
            return None
        return self.denied(f'Azure ML registry "{registry}"', granted)

    def asset(self, ref: str) -> str | None:
        """A model artifact, code reference or retraining input on an azureml target."""
        if ref.lower().startswith("azureml://registries/"):
            return self.registry(ref)
        workspace_asset = ref.startswith("azureml:") and not ref.startswith("azureml://")
        if workspace_asset and "/" in ref:
            return (
                f"{ref}: an ARM id can name an asset of any workspace; use azureml:<name>:<version> (the "
                "target's workspace) or azureml://registries/<registry>/..."
            )
        if workspace_asset or ref.startswith(_WORKSPACE_ASSETS):
            return None  # resolved in the target's workspace
        return self.data(ref)

    def prometheus(self, address: str) -> str | None:
        try:
            got = endpoint(address)
        except Unsupported as exc:
            return str(exc)
        granted = [e for g in self.grants for e in g.metrics.prometheus]
        for text in granted:
            try:
                grant = endpoint(text)
            except Unsupported:
                continue  # the CRD's pattern is looser than this parser: such a grant grants nothing
            same = (grant.scheme, grant.host, grant.port) == (got.scheme, got.host, got.port)
            if same and within(got.path, grant.path):
                return None
        return self.denied(f'Prometheus endpoint "{address}"', granted)

    @staticmethod
    def kql(query: str) -> str | None:
        """A logAnalytics metric's KQL runs as the operator on the granted workspace: nothing it names may
        read another workspace or resource (a policy grants workspaces by logAnalyticsWorkspaceId only)."""
        name = kql_reach(query)
        if name is None:
            return None
        return (
            f"KQL {name}() reaches past the Log Analytics workspace a ModelDeploymentPolicy grants "
            "(logAnalyticsWorkspaceId); cross-resource and external-data queries "
            f"({KQL_REACH_NAMES}) are not allowed"
        )

    def monitor(self, resource_id: str) -> str | None:
        if not resource_id.isascii():  # the pattern is (?i): the Kelvin sign passes for a k
            return (
                f"{resource_id}: an ARM id must be ASCII (a letter such as the Kelvin sign folds to an ASCII "
                "one here, but not in Azure)"
            )
        granted = [s for g in self.grants for s in g.metrics.azure_monitor_scopes]
        parts = granted_path(resource_id.lower())
        if parts is not None and any(covers(parts, s.lower()) for s in granted):
            return None
        return self.denied(f'Azure Monitor scope "{resource_id}"', granted)

    def webhook(self, url: str, secret: str | None) -> Iterator[tuple[str, str | None]]:
        field = "spec.rollback.retrain.event.url"
        try:
            got = endpoint(url, schemes=("https",))
        except Unsupported as exc:
            yield field, str(exc)
            return
        host = got.host if got.port == 443 else f"{got.host}:{got.port}"
        hooks = [w for g in self.grants for w in g.retraining.webhooks]
        mine = [w for w in hooks if w.host.removesuffix(":443") == host]
        yield field, None if mine else self.denied(f'webhook host "{host}"', (w.host for w in hooks))
        if secret is not None and mine:
            names = [n for w in mine for n in w.secret_names]
            ok = secret in names or "*" in names
            what = f'Secret "{secret}" for webhook host "{host}"'
            yield "spec.rollback.retrain.event.secretRef", None if ok else self.denied(what, names)

    def pipeline(
        self, ws: Workspace, component: str, compute: str | None
    ) -> Iterator[tuple[str, str | None]]:
        field = "spec.rollback.retrain.azuremlPipeline"
        pipelines = [p for g in self.grants for p in g.retraining.pipelines]
        mine = [p for p in pipelines if workspace_of(p.workspace).key() == ws.key()]
        if not mine:
            yield (
                field,
                self.denied(
                    f'retraining in Azure ML workspace "{ws}"',
                    (str(workspace_of(p.workspace)) for p in pipelines),
                ),
            )
            return
        if component.lower().startswith("azureml://registries/"):
            yield f"{field}.component", self.registry(component)
            name = component.split("/")[5]
        else:
            name = component.split(":")[1]
        names = [c for p in mine for c in p.components]
        ok = name in names or "*" in names
        yield f"{field}.component", None if ok else self.denied(f'retraining component "{name}"', names)
        if compute is not None:
            computes = [c for p in mine for c in p.computes]
            ok = compute.lower() in (c.lower() for c in computes) or "*" in computes
            yield f"{field}.compute", None if ok else self.denied(f'retraining compute "{compute}"', computes)

    def pipeline_input(self, value: str) -> str | None:
        kind = input_kind(value)
        if kind == "local":
            return (
                f'"{value}" is a local path: Azure ML would upload it from the operator\'s filesystem; use a '
                "data URI a ModelDeploymentPolicy grants"
            )
        return self.asset(value) if kind == "reference" else None

    def notification_secret(self, name: str) -> str | None:
        granted = [n for g in self.grants for n in g.notifications.secret_names]
        if name in granted or "*" in granted:
            return None
        return self.denied(f'notification Secret "{name}"', granted)

    def notification_url(self, url: str) -> str | None:
        try:
            host = secret_url_host(url)
        except Unsupported as exc:
            return str(exc)
        hosts = [h for g in self.grants for h in g.notifications.hosts]
        if host in (h.removesuffix(":443") for h in hosts):
            return None
        return self.denied(f'notification host "{host}"', hosts)
