"""The operator as the install runs it: a process under a token of one ServiceAccount, nothing else."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from localkube.testing import ClusterHandle
from tests.conftest import ROOT

# An HTTP 403 as the kubernetes client, kopf and aiohttp print it. A bare " 403" also matches durations,
# resourceVersions and counts in ordinary log lines, which made the check fail on healthy runs.
_DENIAL = re.compile(
    r"(?i:forbidden)|\(403\)|['\"]code['\"]: 403\b|\bstatus(?:_code)?[ =:]+403\b"
    r"|\b403, message=|HTTP/[\d.]+ 403\b"
)


def denials(output: str) -> list[str]:
    """The log lines that record an API request the role refused."""
    return [line for line in output.splitlines() if _DENIAL.search(line)]


def sa_kubeconfig(
    cluster: ClusterHandle,
    service_account: str,
    path: Path,
    namespace: str = "kdap-system",
    duration: str = "1h",
) -> Path:
    """A kubeconfig holding only a token of ``<namespace>/<service_account>``."""
    token = cluster.kubectl(
        "create", "token", service_account, "-n", namespace, f"--duration={duration}"
    ).stdout.strip()
    server = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": server}],
                "users": [{"name": service_account, "user": {"token": token}}],
                "contexts": [{"name": "sa", "context": {"cluster": "c", "user": service_account}}],
                "current-context": "sa",
            }
        )
    )
    return path


@contextmanager
def operator_process(kubeconfig: Path, log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m modeldeploy operator ARGS`` under ``kubeconfig``, logging to ``log``; stopped (SIGTERM,
    then SIGKILL after 20 s) on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "modeldeploy", "operator", *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
