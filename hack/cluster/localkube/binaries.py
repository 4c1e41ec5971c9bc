"""Locate (building when needed) the control-plane binaries made by ``hack/cluster/build.sh``."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "build.sh"


@dataclass(frozen=True)
class Binaries:
    directory: Path

    @property
    def etcd(self) -> Path:
        return self.directory / "etcd"

    @property
    def kube_apiserver(self) -> Path:
        return self.directory / "kube-apiserver"

    @property
    def kube_controller_manager(self) -> Path:
        return self.directory / "kube-controller-manager"

    @property
    def kube_scheduler(self) -> Path:
        return self.directory / "kube-scheduler"

    @property
    def kwok(self) -> Path:
        return self.directory / "kwok"

    @property
    def kwok_stages(self) -> Path:
        return self.directory / "kwok-stages.yaml"

    @property
    def gateway_api_crds(self) -> Path:
        return self.directory / "gateway-api-standard.yaml"


class BuildError(RuntimeError):
    pass


def ensure_binaries() -> Binaries:
    """Build what is missing (a no-op when the cache is warm) and return where the binaries are."""
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(
            f"building the local control plane failed ({BUILD_SCRIPT}, exit {proc.returncode}):\n"
            f"{proc.stderr[-4000:]}\nThe build needs Go >= 1.26 on PATH and access to the Go module proxy."
        )
    return Binaries(Path(proc.stdout.strip().splitlines()[-1]))
