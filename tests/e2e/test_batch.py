"""Batch scoring on the real control plane: PodTemplates, Jobs and CronJobs run by the job and cronjob
controllers, pods completed (or failed) by kwok.

kwok runs no container, so a stand-in for the scoring container (``Scorer``, a thread) watches the Jobs and
writes each run's output where the pod would have: ``<KDAP_OUTPUT_URI>/predictions.csv`` under the
operator's data root. Revisions whose image tag contains ``shifted`` predict from another distribution, so
their comparison fails as a real regression would.

One test walks every trigger while the minute-granular schedule comes round: the first revision becomes the
default; a manual run (``kubectl mdep run``); a data-arrival run; a candidate that compares well becomes the
default; a candidate with shifted predictions fails and the default stays; the schedule fires; and a run
whose pods fail raises a Warning Event. It prints the manual run's timeline from request to output.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kubernetes import client, config

from localkube.testing import ClusterHandle
from modeldeploy.backends.kubernetes import batch_manifests as bm
from tests.conftest import ROOT
from tests.e2e.conftest import StartOperator, apply, phase, status_of, wait_for

pytestmark = pytest.mark.cluster
CLI = (sys.executable, "-c", "from modeldeploy.cli import main; raise SystemExit(main())")
ROWS = 2000  # two samples of 400 from one distribution already differ by ~0.1 (Jensen-Shannon, 10 bins)


class Scorer:
    """Writes each Job's output as its pod would; records when it saw the Job and when it wrote."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        api = config.new_client_from_config(config_file=str(kubeconfig))
        self.batch, self.namespace = client.BatchV1Api(api), namespace
        self.written: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Scorer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._once()
            except Exception as exc:  # a slow apiserver must not end the stand-in: the next look retries
                print("scorer:", exc)
            self._stop.wait(0.2)

    def _once(self) -> None:
        jobs = self.batch.list_namespaced_job(self.namespace, label_selector=f"{bm.LABEL_RUN}=true")
        for job in jobs.items:
            name = job.metadata.name
            if name in self.written:
                continue
            self.seen.setdefault(name, time.time())
            container = job.spec.template.spec.containers[0]
            folder = Path((job.metadata.annotations or {})[bm.ANNOTATION_OUTPUT].removeprefix("file://"))
            self._write(folder / name, name, container.image)
            self.written[name] = time.time()

    @staticmethod
    def _write(folder: Path, run: str, image: str) -> None:
        rng = np.random.default_rng(zlib.crc32(run.encode()))
        values = rng.beta(5, 2, ROWS) if "shifted" in image else rng.beta(2, 5, ROWS)
        folder.mkdir(parents=True, exist_ok=True)
        rows = "\n".join(f"{i},{v:.6f}" for i, v in enumerate(values))
        part = folder / "predictions.csv.part"
        part.write_text("id,prediction\n" + rows + "\n")
        part.rename(folder / "predictions.csv")  # the operator never reads half a file


def _spec(data: Path, image: str, schedule: bool = True) -> dict[str, Any]:
    version = image.rsplit(":", 1)[1].split("-")[0]
    return {
        "target": {"type": "kubernetes", "kubernetes": {"image": image}},
        "model": {
            "name": "churn-predictor",
            "version": version,
            "artifactUri": f"https://kdapmodels.blob.core.windows.net/models/churn/{version}/model.json",
        },
        "batch": {
            "input": f"file://{data}/customers/",
            "output": {"uri": f"file://{data}/scores/{{revision}}"},
            "retries": {"maxRetries": 0, "timeout": "10m"},
            "schedules": [{"name": "every-minute", "cron": {"expression": "* * * * *", "timeZone": "UTC"}}]
            if schedule
            else [],
            "dataArrival": {"uri": f"file://{data}/incoming/", "pollInterval": "5s"},
            "rollout": {"input": f"file://{data}/golden/", "predictions": {"minSamples": 50}},
        },
    }


def _md(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name},
        "spec": spec,
    }


def _batch(body: dict[str, Any]) -> dict[str, Any]:
    batch: dict[str, Any] = status_of(body).get("batch") or {}
    return batch


def _runs(body: dict[str, Any]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = (status_of(body).get("batch") or {}).get("runs") or []
    return runs


def _run(body: dict[str, Any], trigger: str, phase_: str = "Succeeded") -> dict[str, Any] | None:
    return next(
        (r for r in _runs(body) if r.get("trigger", "").startswith(trigger) and r.get("phase") == phase_),
        None,
    )


def _stable(body: dict[str, Any]) -> str:
    return str((status_of(body).get("stable") or {}).get("name", ""))


def _cron_revision(cluster: ClusterHandle, namespace: str) -> list[str]:
    """The revision each CronJob's pods run (the PodTemplate it was made from)."""
    out = json.loads(cluster.kubectl("get", "cronjobs", "-n", namespace, "-o", "json").stdout)
    pods = [c["spec"]["jobTemplate"]["spec"]["template"] for c in out["items"]]
    return [p["metadata"]["labels"]["mlops.kdap.io/revision"] for p in pods]


def _eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.3)


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    for folder in ("customers", "golden", "incoming", "scores"):
        (tmp_path / folder).mkdir()
    (tmp_path / "incoming" / "0000.csv").write_text("id\n1\n")
    return tmp_path


def test_batch_triggers_rollout_and_alerts(
    cluster: ClusterHandle, start_operator: StartOperator, namespace: str, data: Path
) -> None:
    started = time.monotonic()
    op = start_operator()
    with Scorer(cluster.kubeconfig, namespace) as scorer:
        apply(cluster, namespace, _md("churn", _spec(data, "ghcr.io/kdap/churn-batch:1.0.0")))
        # The status says Promoted before the CronJob is applied (status first, then act): wait for both.
        body = wait_for(
            cluster, namespace, "churn",
            lambda b: phase(b) == "Promoted" and bool(_batch(b).get("schedulesApplied")),
            "first revision and its schedule", operator=op,
        )  # fmt: skip
        first = _stable(body)
        cronjobs = json.loads(cluster.kubectl("get", "cronjobs", "-n", namespace, "-o", "json").stdout)
        assert [c["spec"]["schedule"] for c in cronjobs["items"]] == ["* * * * *"]
        assert _cron_revision(cluster, namespace) == [first]

        # Manual: the CLI writes status.batch.runRequest; the operator starts a Job of the default revision.
        requested = time.time()
        cli = subprocess.run(
            [*CLI, "run", "churn", "-n", namespace, "--input", f"file://{data}/customers/"],
            capture_output=True, text=True, env=cluster.env, cwd=ROOT, timeout=60,
        )  # fmt: skip
        handled = time.time()
        assert cli.returncode == 0, cli.stderr
        assert "started run churn-m-" in cli.stdout
        body = wait_for(
            cluster, namespace, "churn", lambda b: _run(b, "manual") is not None, "manual run", operator=op
        )
        manual = _run(body, "manual")
        assert manual is not None
        recorded = time.time()
        job = json.loads(cluster.kubectl("get", "job", manual["name"], "-n", namespace, "-o", "json").stdout)
        timeline = {
            "cli_request_to_handled_s": round(handled - requested, 2),
            "request_to_job_created_s": round(_t(job["metadata"]["creationTimestamp"]) - requested, 2),
            "job_created_to_complete_s": round(
                _t(job["status"]["completionTime"]) - _t(job["metadata"]["creationTimestamp"]), 2
            ),
            "request_to_output_written_s": round(
                scorer.written.get(manual["name"], float("nan")) - requested, 2
            ),
            "request_to_status_succeeded_s": round(recorded - requested, 2),
        }  # fmt: skip
        print("manual run timeline:", json.dumps(timeline))
        assert manual["revision"] == first
        assert manual["input"] == f"file://{data}/customers/"

        # Data arrival: the first poll set the watermark at 0000.csv; a new file starts one run for it.
        arrived = time.time()
        (data / "incoming" / "0001.csv").write_text("id\n2\n")
        body = wait_for(
            cluster,
            namespace,
            "churn",
            lambda b: _run(b, "dataArrival") is not None,
            "data-arrival run",
            operator=op,
        )
        run = _run(body, "dataArrival")
        assert run is not None
        assert run["upto"] == "0001.csv"
        assert run["after"] == "0000.csv"
        print("data arrival: file to status Succeeded", round(time.time() - arrived, 2), "s")

        # A candidate predicting alike: both revisions score the golden input, then it is the default.
        rollout = time.time()
        apply(cluster, namespace, _md("churn", _spec(data, "ghcr.io/kdap/churn-batch:2.0.0")))
        body = wait_for(
            cluster, namespace, "churn",
            lambda b: phase(b) == "Promoted" and _stable(b) not in ("", first),
            "second revision", operator=op,
        )  # fmt: skip
        second = _stable(body)
        comparison = (status_of(body).get("batch") or {}).get("comparison") or {}
        assert comparison["verdict"] == "Successful"
        assert (comparison["stableRows"], comparison["candidateRows"]) == (ROWS, ROWS)
        print("good candidate: apply to default", round(time.time() - rollout, 2), "s")
        _eventually(
            lambda: (
                cluster.kubectl("get", "podtemplates", "-n", namespace, "-o", "name").stdout.split()
                == [f"podtemplate/{second}"]
            ),
            "the old default's template deleted",
        )
        _eventually(lambda: _cron_revision(cluster, namespace) == [second], "the schedule on the new default")

        # A candidate whose predictions shifted fails its comparison; the default stays.
        apply(cluster, namespace, _md("churn", _spec(data, "ghcr.io/kdap/churn-batch:3.0.0-shifted")))
        body = wait_for(
            cluster, namespace, "churn", lambda b: phase(b) == "RolledBack", "failed comparison", operator=op
        )
        assert _stable(body) == second
        failed = status_of(body)["failedRevisions"][-1]
        assert failed["reason"] == "ComparisonFailed"
        assert failed["message"].startswith("predictions differ")
        assert _cron_revision(cluster, namespace) == [second]

        # A run whose pods fail: a Warning Event, the run recorded Failed.
        apply(
            cluster,
            namespace,
            _md("fragile", _spec(data, "ghcr.io/kdap/churn-batch:1.0.0-fails", schedule=False)),
        )
        wait_for(
            cluster, namespace, "fragile", lambda b: phase(b) == "Promoted", "fragile default", operator=op
        )
        subprocess.run(
            [*CLI, "run", "fragile", "-n", namespace, "--no-wait"],
            check=True, capture_output=True, env=cluster.env, cwd=ROOT, timeout=60,
        )  # fmt: skip
        body = wait_for(
            cluster,
            namespace,
            "fragile",
            lambda b: _run(b, "manual", "Failed") is not None,
            "failed run",
            operator=op,
        )
        events = cluster.kubectl(
            "get", "events", "-n", namespace, "--field-selector", "reason=RunFailed", "-o", "json"
        ).stdout
        messages = [e["message"] for e in json.loads(events)["items"]]
        assert any("BackoffLimitExceeded" in m for m in messages), messages

        # The schedule has come round by now (or does within the minute): its Job is recorded as a run.
        body = wait_for(
            cluster, namespace, "churn",
            lambda b: _run(b, "schedule/every-minute") is not None, "scheduled run",
            timeout=75, operator=op,
        )  # fmt: skip
        scheduled = _run(body, "schedule/every-minute")
        assert scheduled is not None
        assert scheduled["revision"] in (first, second)
    print("e2e batch test took", round(time.monotonic() - started, 1), "s")
