"""Flatten a ModelDeployment spec into the Kubernetes backend's workload and route descriptions."""

from __future__ import annotations

from datetime import timedelta

from modeldeploy.api.cron import Cron
from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import HttpProbe, KubernetesTarget, ModelDeploymentSpec
from modeldeploy.backends.kubernetes import manifests as mf
from modeldeploy.backends.kubernetes.schedule import Window
from modeldeploy.ports import BackendError, RevisionRequest


def _target(spec: ModelDeploymentSpec) -> KubernetesTarget:
    if spec.target.kubernetes is None:
        raise BackendError(
            "WrongTarget",
            "the Kubernetes backend needs spec.target.kubernetes (target.type kubernetes)",
            False,
        )
    return spec.target.kubernetes


def _probe(p: HttpProbe | None) -> mf.ProbeSpec | None:
    if p is None:
        return None
    return mf.ProbeSpec(
        p.path,
        p.initial_delay_seconds,
        p.period_seconds,
        p.timeout_seconds,
        p.success_threshold,
        p.failure_threshold,
    )


def workload(request: RevisionRequest) -> tuple[mf.Workload, tuple[Window, ...]]:
    spec: ModelDeploymentSpec = request.spec
    t = _target(spec)
    env = tuple(
        {"name": e.name, "value": e.value}
        if e.secret_key_ref is None
        else {
            "name": e.name,
            "valueFrom": {"secretKeyRef": {"name": e.secret_key_ref.name, "key": e.secret_key_ref.key}},
        }
        for e in t.env
    )
    scaling: mf.AutoscalingSpec | None = None
    windows: tuple[Window, ...] = ()
    if spec.autoscaling is not None:
        a = spec.autoscaling
        scaling = mf.AutoscalingSpec(
            a.min_replicas, a.max_replicas, a.target_cpu_utilization, int(parse_duration(a.scale_in_delay))
        )
        windows = tuple(
            Window(
                Cron.parse(w.cron),
                timedelta(seconds=parse_duration(w.duration)),
                w.min_replicas,
                w.time_zone,
            )
            for w in a.schedules
        )
    return (
        mf.Workload(
            revision=request.name,
            image=t.image,
            port=t.port,
            replicas=t.replicas if request.min_replicas is None or scaling else request.min_replicas,
            requests={str(k): v for k, v in t.resources.requests.items()},
            limits={str(k): v for k, v in t.resources.limits.items()},
            env=env,
            service_account=t.service_account_name,
            liveness=_probe(t.liveness_probe),
            readiness=_probe(t.readiness_probe),
            autoscaling=scaling,
            model_name=spec.model.name,
            model_version=spec.model.version,
        ),
        windows,
    )


def route(spec: ModelDeploymentSpec) -> mf.RouteSpec:
    t = _target(spec)
    g = t.gateway
    if g is None:  # the spec's rule: only batch models leave it out, and they have no route
        raise ValueError("target.kubernetes.gateway is required for an online model")
    return mf.RouteSpec(g.name, g.namespace, g.section_name, g.port, tuple(t.hostnames), t.path_prefix)
