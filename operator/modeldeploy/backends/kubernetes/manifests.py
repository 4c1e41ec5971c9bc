"""Pure builders of the Kubernetes objects behind a revision and the route in front of them.

Each object carries an owner reference to the ModelDeployment (so the garbage collector removes whatever a
crash left behind), the labels the backend selects on, and nothing the user owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modeldeploy.ports import Owner
from modeldeploy.rollout.serving import TrafficSplit

MANAGED_BY = "modeldeploy"
LABEL_DEPLOYMENT = "mlops.kdap.io/deployment"
LABEL_REVISION = "mlops.kdap.io/revision"
SERVICE_PORT = 80
PROGRESS_DEADLINE_SECONDS = 600

Manifest = dict[str, Any]


@dataclass(frozen=True)
class ProbeSpec:
    path: str
    initial_delay_seconds: int
    period_seconds: int
    timeout_seconds: int
    success_threshold: int
    failure_threshold: int


@dataclass(frozen=True)
class AutoscalingSpec:
    min_replicas: int
    max_replicas: int
    target_cpu_utilization: int
    scale_in_delay_seconds: int


@dataclass(frozen=True)
class Workload:
    """One revision's serving workload, flattened from the spec it was cut from."""

    revision: str
    image: str
    port: int
    replicas: int
    requests: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, str] = field(default_factory=dict)
    env: tuple[Manifest, ...] = ()
    service_account: str | None = None
    liveness: ProbeSpec | None = None
    readiness: ProbeSpec | None = None
    autoscaling: AutoscalingSpec | None = None
    model_name: str = ""
    model_version: str = ""


@dataclass(frozen=True)
class RouteSpec:
    gateway_name: str
    gateway_namespace: str | None = None
    section_name: str | None = None
    gateway_port: int | None = None
    hostnames: tuple[str, ...] = ()
    path_prefix: str = "/"


def labels(owner: Owner, revision: str | None = None) -> dict[str, str]:
    out = {"app.kubernetes.io/managed-by": MANAGED_BY, LABEL_DEPLOYMENT: owner.name}
    if revision is not None:
        out[LABEL_REVISION] = revision
    return out


def _meta(owner: Owner, name: str, revision: str | None) -> Manifest:
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": labels(owner, revision),
        "ownerReferences": [
            {
                "apiVersion": owner.api_version,
                "kind": owner.kind,
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }


def _probe(p: ProbeSpec, port: int) -> Manifest:
    return {
        "httpGet": {"path": p.path, "port": port},
        "initialDelaySeconds": p.initial_delay_seconds,
        "periodSeconds": p.period_seconds,
        "timeoutSeconds": p.timeout_seconds,
        "successThreshold": p.success_threshold,
        "failureThreshold": p.failure_threshold,
    }


def restricted_pod(container: Manifest, service_account: str | None, **pod: Any) -> Manifest:
    """A pod spec of one container under Restricted Pod Security (a model server or a scoring run needs no
    root, no privilege and no extra capability), with no API token unless the spec names a service account
    (e.g. for workload identity). Every pod the operator creates is built here, online or batch."""
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }
    spec: Manifest = {
        **pod,
        "containers": [container],
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "automountServiceAccountToken": service_account is not None,
    }
    if service_account:
        spec["serviceAccountName"] = service_account
    return spec


def deployment(owner: Owner, w: Workload) -> Manifest:
    container: Manifest = {
        "name": "model",
        "image": w.image,
        "ports": [{"name": "http", "containerPort": w.port, "protocol": "TCP"}],
        "env": [
            {"name": "MODEL_NAME", "value": w.model_name},
            {"name": "MODEL_VERSION", "value": w.model_version},
            {"name": "MODEL_REVISION", "value": w.revision},
            *w.env,
        ],
    }
    resources = {k: dict(v) for k, v in (("requests", w.requests), ("limits", w.limits)) if v}
    if resources:
        container["resources"] = resources
    if w.liveness:
        container["livenessProbe"] = _probe(w.liveness, w.port)
    if w.readiness:
        container["readinessProbe"] = _probe(w.readiness, w.port)
    pod_spec = restricted_pod(container, w.service_account)
    spec: Manifest = {
        "selector": {"matchLabels": labels(owner, w.revision)},
        "progressDeadlineSeconds": PROGRESS_DEADLINE_SECONDS,
        "template": {"metadata": {"labels": labels(owner, w.revision)}, "spec": pod_spec},
    }
    # With autoscaling the HPA owns replicas: leaving the field out keeps server-side apply from fighting it.
    if w.autoscaling is None:
        spec["replicas"] = w.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(owner, w.revision, w.revision),
        "spec": spec,
    }


def service(owner: Owner, w: Workload) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(owner, w.revision, w.revision),
        "spec": {
            "selector": labels(owner, w.revision),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": w.port, "protocol": "TCP"}],
        },
    }


def hpa(owner: Owner, w: Workload, min_replicas: int) -> Manifest | None:
    a = w.autoscaling
    if a is None:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(owner, w.revision, w.revision),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.revision},
            "minReplicas": min(max(min_replicas, 1), a.max_replicas),
            "maxReplicas": a.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": a.target_cpu_utilization},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": a.scale_in_delay_seconds}},
        },
    }


def httproute(owner: Owner, route: RouteSpec, split: TrafficSplit) -> Manifest:
    parent: Manifest = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": route.gateway_name}
    if route.gateway_namespace:
        parent["namespace"] = route.gateway_namespace
    if route.section_name:
        parent["sectionName"] = route.section_name
    if route.gateway_port:
        parent["port"] = route.gateway_port
    # Zero-weight backends stay listed: the route then names every revision still up, and a weight of 0 is
    # the Gateway API's way to say "no traffic" without a 500 for a missing backend.
    rule: Manifest = {
        "matches": [{"path": {"type": "PathPrefix", "value": route.path_prefix}}],
        "backendRefs": [
            {"group": "", "kind": "Service", "name": name, "port": SERVICE_PORT, "weight": weight}
            for name, weight in sorted(split.weights.items())
        ],
    }
    if split.mirror:
        rule["filters"] = [
            {
                "type": "RequestMirror",
                "requestMirror": {
                    "backendRef": {
                        "group": "",
                        "kind": "Service",
                        "name": split.mirror,
                        "port": SERVICE_PORT,
                    },
                    "percent": split.mirror_percent,
                },
            }
        ]
    spec: Manifest = {"parentRefs": [parent], "rules": [rule]}
    if route.hostnames:
        spec["hostnames"] = list(route.hostnames)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(owner, owner.name, None),
        "spec": spec,
    }


def split_from_route(route: Manifest) -> TrafficSplit | None:
    """Read back what an HTTPRoute routes (the inverse of :func:`httproute`)."""
    rules = route.get("spec", {}).get("rules") or []
    if not rules:
        return None
    rule = rules[0]
    weights = {b["name"]: int(b.get("weight", 1)) for b in rule.get("backendRefs") or []}
    mirror, percent = None, 0
    for f in rule.get("filters") or []:
        if f.get("type") == "RequestMirror":
            mirror = f["requestMirror"]["backendRef"]["name"]
            percent = int(f["requestMirror"].get("percent", 100))
    return TrafficSplit(weights=weights, mirror=mirror, mirror_percent=percent)
