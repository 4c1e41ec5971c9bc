"""Pure builders of a batch model's objects: a PodTemplate per revision, a Job per run, a CronJob per
schedule.

The PodTemplate is the revision ("one batch deployment per revision"): everything a run of it needs, frozen
when it was cut, so the default revision keeps running as it was while Git already holds a candidate.
The scoring container is told what to do through environment variables (``KDAP_*``, see the README).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.kubernetes import manifests as mf
from modeldeploy.ports import Owner

Manifest = dict[str, Any]
LABEL_RUN = "mlops.kdap.io/batch-run"
ANNOTATION_JOB = "mlops.kdap.io/job"
ANNOTATION_TRIGGER = "mlops.kdap.io/trigger"
ANNOTATION_INPUT = "mlops.kdap.io/input"
ANNOTATION_OUTPUT = "mlops.kdap.io/output"
# Finished Jobs stay an hour (the status keeps the record); CronJobs keep their last three of each kind.
JOB_TTL_SECONDS = 3600
CRONJOB_HISTORY = 3


@dataclass(frozen=True)
class RunInput:
    uri: str
    after: str | None = None
    upto: str | None = None


def _env(name: str, value: str) -> Manifest:
    return {"name": name, "value": value}


def pod_template(owner: Owner, revision: str, spec: ModelDeploymentSpec) -> Manifest:
    """The revision's PodTemplate: the scoring pod plus, in an annotation, the Job settings of its runs."""
    t, b = spec.target.kubernetes, spec.batch
    assert t is not None  # the spec's rules: batch models run on kubernetes targets
    assert b is not None
    env: list[Manifest] = [
        {
            "name": "KDAP_RUN",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}},
        },
        _env("KDAP_REVISION", revision),
        _env("KDAP_MODEL", f"{spec.model.name}:{spec.model.version}"),
        _env("KDAP_MINI_BATCH_SIZE", str(b.mini_batch_size)),
        _env("KDAP_OUTPUT_ACTION", b.output.action),
        _env("KDAP_OUTPUT_FILE", b.output.file_name),
        # $(KDAP_RUN) is expanded by the kubelet: each run writes its own folder.
        _env("KDAP_OUTPUT_URI", f"{fill(b.output.uri, owner, revision).rstrip('/')}/$(KDAP_RUN)/"),
    ]
    for e in t.env:
        if e.secret_key_ref is None:
            env.append(_env(e.name, e.value or ""))
        else:
            ref = {"name": e.secret_key_ref.name, "key": e.secret_key_ref.key}
            env.append({"name": e.name, "valueFrom": {"secretKeyRef": ref}})
    container: Manifest = {"name": "score", "image": t.image, "env": env}
    resources = {
        k: {str(n): q for n, q in v.items()}
        for k, v in (("requests", t.resources.requests), ("limits", t.resources.limits))
        if v
    }
    if resources:
        container["resources"] = resources
    pod = mf.restricted_pod(container, t.service_account_name, restartPolicy="Never")
    job = {
        "completions": b.instance_count,
        "parallelism": b.instance_count,
        "backoffLimit": b.retries.max_retries,
        "activeDeadlineSeconds": int(parse_duration(b.retries.timeout)),
    }
    meta = mf._meta(owner, revision, revision)
    meta["annotations"] = {
        ANNOTATION_JOB: json.dumps(job, sort_keys=True),
        ANNOTATION_OUTPUT: fill(b.output.uri, owner, revision).rstrip("/"),
    }
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": meta,
        "template": {"metadata": {"labels": mf.labels(owner, revision)}, "spec": pod},
    }


def fill(uri: str, owner: Owner, revision: str) -> str:
    for key, value in (("namespace", owner.namespace), ("name", owner.name), ("revision", revision)):
        uri = uri.replace("{" + key + "}", value)
    return uri


def _job_spec(template: Manifest, run_input: RunInput) -> Manifest:
    settings = json.loads(template["metadata"].get("annotations", {}).get(ANNOTATION_JOB, "{}"))
    pod = copy.deepcopy(template["template"])
    env = pod["spec"]["containers"][0].setdefault("env", [])
    env.append(_env("KDAP_INPUT_URI", run_input.uri))
    if run_input.upto is not None:
        env.append(_env("KDAP_INPUT_AFTER", run_input.after or ""))
        env.append(_env("KDAP_INPUT_UPTO", run_input.upto))
    return {
        **settings,
        # Indexed: each of the instanceCount pods scores its JOB_COMPLETION_INDEX share of the input.
        "completionMode": "Indexed",
        "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
        "template": pod,
    }


def _run_meta(owner: Owner, name: str, template: Manifest, trigger: str, run_input: RunInput) -> Manifest:
    revision = template["metadata"]["name"]
    output = template["metadata"].get("annotations", {}).get(ANNOTATION_OUTPUT, "")
    meta = mf._meta(owner, name, revision)
    meta["labels"][LABEL_RUN] = "true"
    described = (
        run_input.uri
        if run_input.upto is None
        else f"{run_input.uri} (after {run_input.after!r} up to {run_input.upto!r})"
    )
    meta["annotations"] = {
        ANNOTATION_TRIGGER: trigger,
        ANNOTATION_INPUT: described,
        ANNOTATION_OUTPUT: output,
    }
    return meta


def job(owner: Owner, template: Manifest, name: str, trigger: str, run_input: RunInput) -> Manifest:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _run_meta(owner, name, template, trigger, run_input),
        "spec": _job_spec(template, run_input),
    }


def cronjob(
    owner: Owner, template: Manifest, name: str, schedule: str, cron: str, time_zone: str, run_input: RunInput
) -> Manifest:
    """A CronJob whose Jobs carry the same labels and annotations as the operator's own runs (the output
    annotation is the revision's folder: a run's name is only known when the CronJob creates its Job)."""
    job_meta = _run_meta(owner, name, template, f"schedule/{schedule}", run_input)
    meta = mf._meta(owner, name, template["metadata"]["name"])
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": cron,
            "timeZone": time_zone,
            # A run still going when the next time comes is not doubled: that time is skipped.
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": CRONJOB_HISTORY,
            "failedJobsHistoryLimit": CRONJOB_HISTORY,
            "jobTemplate": {
                "metadata": {"labels": job_meta["labels"], "annotations": job_meta["annotations"]},
                "spec": _job_spec(template, run_input),
            },
        },
    }
