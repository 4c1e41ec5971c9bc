"""The batch objects as the apiserver will receive them, and a Job's status as the machine reads it."""

from __future__ import annotations

import json

from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.kubernetes import batch_manifests as bm
from modeldeploy.backends.kubernetes.batch import job_seen
from modeldeploy.ports import Owner
from tests.api.batch_cases import batch_kubernetes

OWNER = Owner(namespace="ml", name="churn", uid="u-1")


def _template() -> dict[str, object]:
    return bm.pod_template(OWNER, "churn-1234567890", ModelDeploymentSpec.model_validate(batch_kubernetes()))


def _env(container: dict[str, object]) -> dict[str, object]:
    env = container["env"]
    assert isinstance(env, list)
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def test_the_revision_template_carries_how_it_scores() -> None:
    t = _template()
    meta = t["metadata"]
    assert isinstance(meta, dict)
    assert meta["ownerReferences"][0]["uid"] == "u-1"
    assert json.loads(meta["annotations"][bm.ANNOTATION_JOB]) == {
        "activeDeadlineSeconds": 3600,
        "backoffLimit": 1,
        "completions": 2,
        "parallelism": 2,
    }
    assert meta["annotations"][bm.ANNOTATION_OUTPUT] == "file:///data/churn/scores/churn-1234567890"
    pod = t["template"]["spec"]  # type: ignore[index]
    assert pod["restartPolicy"] == "Never"
    env = _env(pod["containers"][0])
    assert env["KDAP_MINI_BATCH_SIZE"] == "500"
    assert env["KDAP_OUTPUT_URI"] == "file:///data/churn/scores/churn-1234567890/$(KDAP_RUN)/"
    assert env["KDAP_RUN"] == {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}
    assert env["LOG_LEVEL"] == "info"


def test_a_job_is_an_indexed_copy_of_the_template_with_its_input() -> None:
    job = bm.job(
        OWNER, _template(), "churn-d-abc", "dataArrival", bm.RunInput("file:///in/", "0001.csv", "0003.csv")
    )
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (2, 2, 1)
    assert spec["ttlSecondsAfterFinished"] == bm.JOB_TTL_SECONDS
    env = _env(spec["template"]["spec"]["containers"][0])
    assert (env["KDAP_INPUT_URI"], env["KDAP_INPUT_AFTER"], env["KDAP_INPUT_UPTO"]) == (
        "file:///in/",
        "0001.csv",
        "0003.csv",
    )
    labels = job["metadata"]["labels"]
    assert labels[bm.LABEL_RUN] == "true"
    assert labels["mlops.kdap.io/revision"] == "churn-1234567890"
    assert job["metadata"]["annotations"][bm.ANNOTATION_TRIGGER] == "dataArrival"
    # The template is not changed by building a Job from it.
    assert "KDAP_INPUT_URI" not in _env(_template()["template"]["spec"]["containers"][0])  # type: ignore[index]


def test_a_cronjob_runs_the_template_in_its_zone_and_never_twice_at_once() -> None:
    cron = bm.cronjob(
        OWNER,
        _template(),
        "churn-monthly",
        "monthly",
        "0 2 1 * *",
        "Europe/Berlin",
        bm.RunInput("file:///in/"),
    )
    spec = cron["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == (
        "0 2 1 * *",
        "Europe/Berlin",
        "Forbid",
    )
    meta = spec["jobTemplate"]["metadata"]
    assert meta["annotations"][bm.ANNOTATION_TRIGGER] == "schedule/monthly"
    assert meta["labels"][bm.LABEL_RUN] == "true"


def _job(conditions: list[dict[str, str]], **status: object) -> dict[str, object]:
    return {
        "metadata": {
            "name": "churn-m-1",
            "creationTimestamp": "2026-11-30T02:00:00Z",
            "labels": {"mlops.kdap.io/revision": "churn-1234567890"},
            "annotations": {bm.ANNOTATION_TRIGGER: "manual", bm.ANNOTATION_OUTPUT: "file:///out/r"},
        },
        "status": {"conditions": conditions, **status},
    }


def test_job_status_is_read_from_its_conditions() -> None:
    running = job_seen(_job([], active=2))
    assert running.phase is RunPhase.RUNNING
    assert running.output == "file:///out/r/churn-m-1/"
    done = job_seen(
        _job([{"type": "Complete", "status": "True"}], succeeded=2, completionTime="2026-11-30T02:00:04Z")
    )
    assert (done.phase, done.succeeded, done.failed) == (RunPhase.SUCCEEDED, 2, 0)
    assert done.finished_at is not None
    assert done.finished_at.second == 4
    failed = job_seen(
        _job(
            [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                },
            ],
            failed=2,
        )
    )
    assert failed.phase is RunPhase.FAILED
    assert failed.message == "BackoffLimitExceeded: Job has reached the specified backoff limit"
