"""What the pytest fixtures need: one control plane per test session (or the cluster KUBECONFIG names)."""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from localkube.binaries import ensure_binaries
from localkube.cluster import LocalCluster, run_kubectl


@dataclass
class ClusterHandle:
    kubeconfig: Path
    local: LocalCluster | None = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_kubectl(self.kubeconfig, *args, input=input, check=check)

    def close(self) -> None:
        if self.local is not None:
            self.local.stop()
            self.local = None


def start_for_tests() -> ClusterHandle:
    """A real cluster from ``KUBECONFIG`` when set, otherwise a fresh local control plane.

    Never skips: a missing Go toolchain or a failed build is an error that says what to install.
    """
    external = os.environ.get("KUBECONFIG")
    if external and Path(external).is_file():
        return ClusterHandle(Path(external))
    binaries = ensure_binaries()
    run_dir = Path(tempfile.mkdtemp(prefix="localkube-test-"))
    local = LocalCluster(run_dir=run_dir, binaries=binaries, nodes=4, attached=True)
    local.start()
    handle = ClusterHandle(local.kubeconfig, local)
    atexit.register(handle.close)  # also on an interrupted run; prctl covers kill -9
    return handle
