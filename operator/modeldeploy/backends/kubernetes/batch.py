"""The Kubernetes batch backend: PodTemplates (revisions), Jobs (runs) and CronJobs (schedules).

Every call is idempotent: a template or CronJob is server-side applied, a Job is created once by name (an
existing one is left alone: a run is never started twice). Reads are one LIST of Jobs and one of
PodTemplates per reconcile, selected by the owner's label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError
from kubernetes.dynamic.resource import Resource

from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.kubernetes import batch_manifests as bm
from modeldeploy.backends.kubernetes import manifests as mf
from modeldeploy.backends.kubernetes.backend import FIELD_MANAGER, _backend_error, not_owned, owned_by
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.batch_types import JobSeen, StartRun, run_name


def _time(text: object) -> datetime | None:
    if isinstance(text, datetime):
        return text
    if isinstance(text, str) and text:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return None


def job_seen(job: dict[str, Any]) -> JobSeen:
    """A Job as the batch machine sees it: Complete or Failed by its conditions, else Running."""
    meta, status = job["metadata"], job.get("status") or {}
    notes = meta.get("annotations") or {}
    phase, message, finished = RunPhase.RUNNING, "", None
    for c in status.get("conditions") or []:
        if c.get("status") != "True":
            continue
        if c.get("type") == "Complete":
            phase, finished = (
                RunPhase.SUCCEEDED,
                _time(status.get("completionTime") or c.get("lastTransitionTime")),
            )
        elif c.get("type") == "Failed":
            phase, finished = RunPhase.FAILED, _time(c.get("lastTransitionTime"))
            message = f"{c.get('reason', '')}: {c.get('message', '')}".strip(": ")
    folder = str(notes.get(bm.ANNOTATION_OUTPUT, "")).rstrip("/")
    return JobSeen(
        name=meta["name"],
        revision=(meta.get("labels") or {}).get(mf.LABEL_REVISION, ""),
        trigger=str(notes.get(bm.ANNOTATION_TRIGGER, "")),
        input=str(notes.get(bm.ANNOTATION_INPUT, "")),
        output=f"{folder}/{meta['name']}/" if folder else "",
        phase=phase,
        created_at=_time(meta.get("creationTimestamp")),
        finished_at=finished,
        succeeded=int(status.get("succeeded") or 0),
        failed=int(status.get("failed") or 0),
        message=message,
    )


class KubernetesBatchBackend:
    def __init__(self, dyn: DynamicClient) -> None:
        self._dyn = dyn

    def _res(self, api_version: str, kind: str) -> Resource:
        found: Resource = self._dyn.resources.get(api_version=api_version, kind=kind)
        return found

    def _list(self, resource: Resource, owner: Owner, extra: str = "") -> list[dict[str, Any]]:
        selector = f"{mf.LABEL_DEPLOYMENT}={owner.name}" + extra
        try:
            found = resource.get(namespace=owner.namespace, label_selector=selector)
        except ApiException as exc:
            raise _backend_error(exc, f"{resource.kind} list") from exc
        return [i.to_dict() for i in found.items]

    def _apply(self, body: dict[str, Any]) -> None:
        resource = self._res(body["apiVersion"], body["kind"])
        try:
            self._dyn.server_side_apply(  # type: ignore[no-untyped-call]
                resource,
                body=body,
                namespace=body["metadata"]["namespace"],
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
        except ApiException as exc:
            raise _backend_error(exc, f"{body['kind']} {body['metadata']['name']}") from exc

    def _delete(self, resource: Resource, owner: Owner, name: str) -> None:
        try:
            resource.delete(name=name, namespace=owner.namespace, body={"propagationPolicy": "Background"})
        except NotFoundError:
            pass
        except ApiException as exc:
            raise _backend_error(exc, f"{resource.kind} {name}") from exc

    # ---- revisions ---------------------------------------------------------------------------------------

    def revisions(self, owner: Owner) -> frozenset[str]:
        return frozenset(t["metadata"]["name"] for t in self._list(self._res("v1", "PodTemplate"), owner))

    def ensure_revision(self, owner: Owner, name: str, spec: ModelDeploymentSpec) -> bool:
        self._check_owned(self._res("v1", "PodTemplate"), owner, name)  # never take over someone's template
        self._apply(bm.pod_template(owner, name, spec))
        return True  # a template can be run as soon as it is applied

    def _check_owned(self, resource: Resource, owner: Owner, name: str) -> None:
        try:
            found = resource.get(name=name, namespace=owner.namespace).to_dict()
        except NotFoundError:
            return
        except ApiException as exc:
            raise _backend_error(exc, f"{resource.kind} {name}") from exc
        if not owned_by(found, owner):
            raise not_owned(resource.kind, owner, name)

    def delete_revision(self, owner: Owner, name: str) -> None:
        self._delete(self._res("v1", "PodTemplate"), owner, name)

    def _template(self, owner: Owner, revision: str) -> dict[str, Any]:
        try:
            found: dict[str, Any] = (
                self._res("v1", "PodTemplate").get(name=revision, namespace=owner.namespace).to_dict()
            )
        except NotFoundError as exc:
            raise BackendError("RevisionMissing", f"PodTemplate {revision} does not exist yet") from exc
        except ApiException as exc:
            raise _backend_error(exc, f"PodTemplate {revision}") from exc
        return found

    # ---- runs and schedules ------------------------------------------------------------------------------

    def runs(self, owner: Owner) -> tuple[JobSeen, ...]:
        jobs = self._list(self._res("batch/v1", "Job"), owner, f",{bm.LABEL_RUN}=true")
        return tuple(job_seen(j) for j in jobs)

    def start_run(self, owner: Owner, spec: ModelDeploymentSpec, run: StartRun) -> None:
        name = run.name
        run_input = bm.RunInput(run.input, run.after, run.upto)
        body = bm.job(owner, self._template(owner, run.revision), name, run.trigger, run_input)
        try:
            self._res("batch/v1", "Job").create(body=body, namespace=owner.namespace)
        except ApiException as exc:
            if exc.status == 409:  # created before a crash or by a concurrent pass: the run exists
                self._check_owned(self._res("batch/v1", "Job"), owner, name)
                return
            raise _backend_error(exc, f"Job {name}") from exc

    def apply_schedules(self, owner: Owner, spec: ModelDeploymentSpec, revision: str) -> None:
        """A CronJob per schedule on ``revision`` (applied: a no-op when unchanged); others deleted."""
        assert spec.batch is not None
        schedules = spec.batch.schedules
        run_input = bm.RunInput(spec.batch.input or "")
        template = self._template(owner, revision) if schedules else {}
        wanted = set()
        for s in schedules:
            assert s.cron is not None  # the spec's rules: recurrence needs an azureml target
            name = run_name(owner.name, s.name)
            wanted.add(name)
            self._apply(
                bm.cronjob(owner, template, name, s.name, s.cron.expression, s.cron.time_zone, run_input)
            )
        cronjobs = self._res("batch/v1", "CronJob")
        for existing in self._list(cronjobs, owner):
            if existing["metadata"]["name"] not in wanted:
                self._delete(cronjobs, owner, existing["metadata"]["name"])
