"""The drift Spark job on Azure ML serverless Spark, in the target's workspace (azure-ai-ml ``spark`` jobs).

The entry file is the package's own ``spark_job.py``, uploaded as the job's code (a folder holding only it,
so the code asset's content hash, and so the asset, is the same for every job). The request (every file of
both windows, up to thousands of URIs: more than the 128 KiB one command-line argument may hold) is the
job's ``request`` input, a JSON file the SDK uploads to the workspace's default datastore with the job; the
summary comes back as the job's ``result`` output folder, downloaded once the job has Completed. The job
reads the data with the workspace's managed identity, which therefore needs Storage Blob Data Reader on the
data's account (as the operator's identity does for in-process reads); the operator uploads code and request
as itself (the system datastores are identity-based), into the default container only.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .pushdown import SCRIPT, JobState, JobStatus

# Azure ML job states (JobStatus in the REST API) that end a job.
_DONE_OK = frozenset({"Completed"})
_DONE_BAD = frozenset({"Failed", "Canceled", "NotResponding", "Paused"})
RUNTIME = "3.4"
INSTANCE_TYPE = "standard_e4s_v3"


def _code_folder() -> str:
    folder = Path(tempfile.gettempdir()) / "kdap-drift-spark"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(SCRIPT, folder / SCRIPT.name)
    return str(folder)


def build_job(request_file: str, instance_type: str = INSTANCE_TYPE, runtime: str = RUNTIME) -> Any:
    """The SparkJob entity (azure.ai.ml.spark) for the request in ``request_file`` (a local JSON file, which
    ``create_or_update`` uploads)."""
    from azure.ai.ml import Input, Output, spark
    from azure.ai.ml.entities import ManagedIdentityConfiguration

    return spark(
        display_name="kdap drift analysis",
        experiment_name="kdap-drift",
        code=_code_folder(),
        entry={"file": SCRIPT.name},
        args="--request ${{inputs.request}} --output ${{outputs.result}}",
        inputs={"request": Input(type="uri_file", path=request_file, mode="direct")},
        outputs={"result": Output(type="uri_folder", mode="direct")},
        identity=ManagedIdentityConfiguration(),  # type: ignore[arg-type]  # the SDK's own documented type
        driver_cores=1,
        driver_memory="2g",
        executor_cores=2,
        executor_memory="2g",
        dynamic_allocation_enabled=True,
        dynamic_allocation_min_executors=1,
        dynamic_allocation_max_executors=4,
        resources={"instance_type": instance_type, "runtime_version": runtime},
    )


class AzureMLSpark:
    """``jobs``: ``MLClient.jobs`` of the target's workspace (``create_or_update``, ``get``, ``download``,
    ``begin_cancel``); each call is one request, none waits for the job."""

    def __init__(self, jobs: Any, instance_type: str = INSTANCE_TYPE) -> None:
        self.jobs, self.instance_type = jobs, instance_type

    def submit(self, request: Mapping[str, Any]) -> str:
        with tempfile.TemporaryDirectory() as tmp:  # uploaded by create_or_update, not needed after it
            path = Path(tmp) / "request.json"
            path.write_text(json.dumps(request))
            created = self.jobs.create_or_update(build_job(str(path), self.instance_type))
        return str(created.name)

    def state(self, job: str) -> JobState:
        status = str(self.jobs.get(job).status)
        if status in _DONE_BAD:
            return JobState(JobStatus.FAILED, message=f"Azure ML job {job} is {status}")
        if status not in _DONE_OK:
            return JobState(JobStatus.RUNNING)
        with tempfile.TemporaryDirectory() as tmp:
            self.jobs.download(job, download_path=tmp, output_name="result")
            found = list(Path(tmp).rglob("summary.json"))
            if not found:
                return JobState(JobStatus.FAILED, message=f"Azure ML job {job} wrote no summary.json")
            return JobState(JobStatus.SUCCEEDED, json.loads(found[0].read_text()))

    def cancel(self, job: str) -> None:
        self.jobs.begin_cancel(job)  # the poller is not waited on
