"""Flux's source-controller and kustomize-controller as plain processes against a control plane.

Built from their Go modules by ``hack/flux/build.sh`` (cached beside the control-plane binaries). Each runs
out of cluster with the admin kubeconfig (``KUBECONFIG``: the controllers parse flags with pflag, which
does not see controller-runtime's ``--kubeconfig``), no leader election (one replica), health probes on free
loopback ports and no metrics listener. source-controller serves the artifacts it packs from Git on
``--storage-addr`` and advertises that loopback address to kustomize-controller (``--storage-adv-addr``;
in a cluster it is the Service's name).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localkube.cluster import _terminate, die_with_parent, free_port, run_kubectl

BUILD_SCRIPT = Path(__file__).resolve().parent.parent.parent / "flux" / "build.sh"
CONTROLLERS = ("source-controller", "kustomize-controller")
CRD_NAMES = (
    "gitrepositories.source.toolkit.fluxcd.io",
    "helmrepositories.source.toolkit.fluxcd.io",
    "helmcharts.source.toolkit.fluxcd.io",
    "buckets.source.toolkit.fluxcd.io",
    "ocirepositories.source.toolkit.fluxcd.io",
    "externalartifacts.source.toolkit.fluxcd.io",
    "kustomizations.kustomize.toolkit.fluxcd.io",
)


class FluxError(RuntimeError):
    """Building, installing or running Flux failed; the message says where to look."""


@dataclass(frozen=True)
class FluxBinaries:
    directory: Path

    def controller(self, name: str) -> Path:
        return self.directory / name

    @property
    def crds(self) -> Path:
        return self.directory / "flux-crds.yaml"


def ensure_flux() -> FluxBinaries:
    """Build what is missing (a no-op when the cache is warm) and return where the binaries are."""
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FluxError(
            f"building Flux failed ({BUILD_SCRIPT}, exit {proc.returncode}):\n{proc.stderr[-4000:]}\n"
            "The build needs Go >= 1.26 on PATH and access to the Go module proxy."
        )
    return FluxBinaries(Path(proc.stdout.strip().splitlines()[-1]))


def install_crds(kubeconfig: Path, binaries: FluxBinaries) -> None:
    """Flux's CRDs, server-side (too big for client-side apply's annotation), then wait until Established."""
    run_kubectl(kubeconfig, "apply", "--server-side", "--field-manager=kdap-flux", "-f", str(binaries.crds))
    run_kubectl(
        kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{c}" for c in CRD_NAMES)
    )


@dataclass
class FluxControllers:
    kubeconfig: Path
    run_dir: Path
    binaries: FluxBinaries
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    health: dict[str, int] = field(default_factory=dict)
    storage_port: int = 0

    def start(self, timeout: float = 60.0) -> None:
        """Start both controllers; return once both answer their readiness probe."""
        (self.run_dir / "storage").mkdir(parents=True, exist_ok=True)  # it must exist before the start
        self.storage_port = free_port()
        common = ["--metrics-addr=0", "--log-encoding=json", "--log-level=info"]
        args = {
            "source-controller": [
                f"--storage-path={self.run_dir / 'storage'}",
                f"--storage-addr=127.0.0.1:{self.storage_port}",
                f"--storage-adv-addr=127.0.0.1:{self.storage_port}",
                "--requeue-dependency=2s",
            ],
            "kustomize-controller": ["--no-remote-bases=true", "--requeue-dependency=2s"],
        }
        try:
            for name in CONTROLLERS:
                self.health[name] = free_port()
                self._spawn(name, [*common, f"--health-addr=127.0.0.1:{self.health[name]}", *args[name]])
            deadline = time.monotonic() + timeout
            for name in CONTROLLERS:
                url = f"http://127.0.0.1:{self.health[name]}/readyz"
                self._wait(url, name, deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for name in reversed(CONTROLLERS):
            proc = self.procs.pop(name, None)
            if proc is not None:
                _terminate(proc.pid, proc.wait)

    def log_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def log_records(self, name: str) -> list[dict[str, Any]]:
        """The controller's JSON log lines, parsed (other lines, e.g. a panic, are skipped)."""
        records: list[dict[str, Any]] = []
        for line in self.log_path(name).read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise FluxError(f"{name} exited with code {proc.returncode}:\n{self._tail(name)}")

    def _spawn(self, name: str, args: list[str]) -> None:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        with self.log_path(name).open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [str(self.binaries.controller(name)), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def _wait(self, url: str, name: str, deadline: float) -> None:
        while not _http_ok(url):
            self.check_alive()
            if time.monotonic() > deadline:
                raise FluxError(f"{name} not ready in time; log {self.log_path(name)}:\n{self._tail(name)}")
            time.sleep(0.2)

    def _tail(self, name: str, lines: int = 20) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
