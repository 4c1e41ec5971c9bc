"""The drift Spark job on Azure ML serverless Spark, in the target's workspace (azure-ai-ml ``spark`` jobs).

The entry file is the package's own ``spark_job.py``, uploaded as the job's code (a folder holding only it,
so the code asset's content hash, and so the asset, is the same for every job). The request travels in the
job's arguments (base64 JSON: file URIs and column names, a few KB); the summary comes back as the job's
``result`` output folder, downloaded once the job has Completed. The job reads the data with the
workspace's managed identity, which therefore needs Storage Blob Data Reader on the data's account (as the
operator's identity does for in-process reads).
"""

from __future__ import annotations

import base64
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


def build_job(request: Mapping[str, Any], instance_type: str = INSTANCE_TYPE, runtime: str = RUNTIME) -> Any:
    """The SparkJob entity (azure.ai.ml.spark) for one request."""
    from azure.ai.ml import Output, spark
    from azure.ai.ml.entities import ManagedIdentityConfiguration

    encoded = base64.b64encode(json.dumps(request).encode()).decode()
    return spark(
        display_name="kdap drift analysis",
        experiment_name="kdap-drift",
        code=_code_folder(),
        entry={"file": SCRIPT.name},
        args=f"--request-b64 {encoded} --output ${{{{outputs.result}}}}",
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
        created = self.jobs.create_or_update(build_job(request, self.instance_type))
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
