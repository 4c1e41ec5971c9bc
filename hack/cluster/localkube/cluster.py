"""Start and stop a real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes whose pods really get scheduled and reach Running).

The run directory holds the PKI, the kubeconfig, each component's log and ``state.json`` (the pids), so a
cluster started by one process (``localkube up``) can be stopped by another (``localkube down``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from localkube.binaries import Binaries
from localkube.certs import Pki, make_pki

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
EXTRA_STAGES = Path(__file__).resolve().parent.parent / "kwok-extra-stages.yaml"
NEVER_READY_TAG = "never-ready"  # an image tag kwok keeps in ImagePullBackOff (see kwok-extra-stages.yaml)
FAILING_JOB_SUFFIX = "-fails"  # an image tag ending so makes its Job pods end Failed (kwok-extra-stages.yaml)
# Components in start order; stop goes in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


class ClusterError(RuntimeError):
    """The control plane could not start; the message names the component and the log to read."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    # Linux prctl(PR_SET_PDEATHSIG, SIGKILL): a test run killed with -9 leaves no orphans behind.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)


@dataclass
class LocalCluster:
    run_dir: Path
    binaries: Binaries
    nodes: int = 2
    attached: bool = True  # children die with this process; False for `localkube up`
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.run_dir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        started = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        pki = make_pki(self.run_dir / "pki")
        self.ports = {
            name: free_port() for name in ("etcd", "etcd-peer", "apiserver", "kcm", "sched", "kwok")
        }
        self._write_kubeconfig(pki)
        try:
            self._spawn("etcd", self._etcd_args())
            self._wait_http(
                f"http://127.0.0.1:{self.ports['etcd']}/health", "etcd", deadline=started + timeout
            )
            self._spawn("kube-apiserver", self._apiserver_args(pki))
            self._wait_http(f"{self.server}/readyz", "kube-apiserver", deadline=started + timeout, pki=pki)
            self._spawn("kube-controller-manager", self._controller_manager_args(pki))
            self._spawn("kube-scheduler", self._scheduler_args())
            self._spawn("kwok", self._kwok_args())
            self._write_state()
            self._create_nodes()
            self.kubectl("apply", "--server-side", "-f", str(self.binaries.gateway_api_crds))
            self._wait_for(self._nodes_ready, "kwok nodes Ready", started + timeout)
            self._wait_for(self._default_service_account, "default ServiceAccount", started + timeout)
            self.kubectl(
                "wait",
                "--for=condition=Established",
                "--timeout=30s",
                "crd/httproutes.gateway.networking.k8s.io",
            )
        except BaseException:
            self.stop()
            raise

    def stop(self, remove: bool = True) -> None:
        for name in reversed(COMPONENTS):
            proc = self.procs.pop(name, None)
            if proc is not None:
                _terminate(proc.pid, proc.wait)
        if remove:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # ---- component command lines ---------------------------------------------------------------------

    def _etcd_args(self) -> list[str]:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        return [
            str(self.binaries.etcd),
            "--name=localkube",
            f"--data-dir={self.run_dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=localkube={peer}",
            "--unsafe-no-fsync",  # test data: durability is not worth the fsync latency
            "--log-level=warn",
        ]

    def _apiserver_args(self, pki: Pki) -> list[str]:
        return [
            str(self.binaries.kube_apiserver),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            f"--cert-dir={self.run_dir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_public}",
            f"--service-account-signing-key-file={pki.sa_private}",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ]

    def _controller_manager_args(self, pki: Pki) -> list[str]:
        kc = str(self.kubeconfig)
        return [
            str(self.binaries.kube_controller_manager),
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['kcm']}",
            f"--cert-dir={self.run_dir / 'kcm-certs'}",
            "--leader-elect=false",
            f"--service-account-private-key-file={pki.sa_private}",
            f"--root-ca-file={pki.ca_cert}",
            "--use-service-account-credentials=false",
            # kwok nodes carry their own pod CIDR; IPAM and cloud routes would fight it.
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
            # Its client's default 20 requests/s makes Deployment and ReplicaSet status trail by minutes with
            # a thousand objects (measured): scale runs would time the controller manager, not the operators.
            "--kube-api-qps=300",
            "--kube-api-burst=600",
            "--v=1",
        ]

    def _scheduler_args(self) -> list[str]:
        kc = str(self.kubeconfig)
        return [
            str(self.binaries.kube_scheduler),
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['sched']}",
            f"--cert-dir={self.run_dir / 'sched-certs'}",
            "--leader-elect=false",
            "--v=1",
        ]

    def _kwok_args(self) -> list[str]:
        return [
            str(self.binaries.kwok),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={self.binaries.kwok_stages}",
            f"--config={EXTRA_STAGES}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            "--cidr=10.244.0.1/16",
            "--node-ip=10.244.0.1",
            f"--server-address=127.0.0.1:{self.ports['kwok']}",
            "--node-lease-duration-seconds=40",
        ]

    # ---- helpers -------------------------------------------------------------------------------------

    def _spawn(self, name: str, args: Sequence[str]) -> None:
        log = (self.run_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            list(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent if self.attached else None,
        )
        log.close()

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = _tail(self.run_dir / f"{name}.log")
                raise ClusterError(f"{name} exited with code {proc.returncode}; last log lines:\n{tail}")

    def _wait_http(self, url: str, what: str, deadline: float, pki: Pki | None = None) -> None:
        ctx: ssl.SSLContext | None = None
        if pki is not None:
            ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
            ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))

        def ok() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
                    return bool(resp.status == 200)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        self._wait_for(ok, what, deadline)

    def _wait_for(self, check: Callable[[], bool], what: str, deadline: float) -> None:
        while True:
            self._check_alive()
            if check():
                return
            if time.monotonic() > deadline:
                logs = ", ".join(str(self.run_dir / f"{n}.log") for n in self.procs)
                raise ClusterError(f"timed out waiting for {what}; logs: {logs}")
            time.sleep(0.2)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_kubectl(self.kubeconfig, *args, input=input, check=check)

    def _create_nodes(self) -> None:
        nodes = [_fake_node(f"kwok-node-{i}") for i in range(self.nodes)]
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(nodes))

    def _nodes_ready(self) -> bool:
        out = self.kubectl(
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}",
            check=False,
        ).stdout.split()
        return len(out) == self.nodes and all(s == "True" for s in out)

    def _default_service_account(self) -> bool:
        return self.kubectl("get", "serviceaccount", "default", "-n", "default", check=False).returncode == 0

    def _write_kubeconfig(self, pki: Pki) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "localkube",
                    "cluster": {"server": self.server, "certificate-authority": str(pki.ca_cert)},
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {"client-certificate": str(pki.admin_cert), "client-key": str(pki.admin_key)},
                }
            ],
            "contexts": [{"name": "localkube", "context": {"cluster": "localkube", "user": "admin"}}],
            "current-context": "localkube",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))

    def _write_state(self) -> None:
        state = {"pids": {n: p.pid for n, p in self.procs.items()}, "ports": self.ports}
        (self.run_dir / "state.json").write_text(json.dumps(state, indent=2))


def run_kubectl(
    kubeconfig: Path, *args: str, input: str | None = None, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """The real kubectl against ``kubeconfig``; with ``check``, a failure raises with kubectl's own words."""
    proc = subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", *args],
        input=input,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def _fake_node(name: str) -> dict[str, object]:
    capacity = {"cpu": "32", "memory": "128Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(pid: int, wait: Callable[..., object] | None = None, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        end = time.monotonic() + grace
        while time.monotonic() < end:
            if wait is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    wait(timeout=0.1)
                    return
            elif not _alive(pid):
                return
            else:
                time.sleep(0.1)


def stop_from_state(run_dir: Path) -> list[str]:
    """Stop a cluster started by another process, from its ``state.json``; returns what was stopped."""
    state_file = run_dir / "state.json"
    stopped: list[str] = []
    if state_file.exists():
        pids: dict[str, int] = json.loads(state_file.read_text())["pids"]
        for name in reversed(COMPONENTS):
            if name in pids and _alive(pids[name]):
                _terminate(pids[name])
                stopped.append(name)
    shutil.rmtree(run_dir, ignore_errors=True)
    return stopped


@contextlib.contextmanager
def running(run_dir: Path, binaries: Binaries, nodes: int = 2) -> Iterator[LocalCluster]:
    cluster = LocalCluster(run_dir=run_dir, binaries=binaries, nodes=nodes)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
