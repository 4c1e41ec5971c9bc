"""Argo Rollouts v1.10.1 on the local control plane: the comparison side of the scale benchmark.

``run_argo_scale`` starts Argo's ``rollouts-controller`` (built by ``hack/argo/build.sh``) against a
``localkube.cluster.LocalCluster``, applies N basic-canary ``Rollout`` objects at once, waits until every
one is fully promoted, updates all N to a new version and waits again, then deletes them all and waits
until the Rollouts, their ReplicaSets and their pods are gone. It returns wall-clock, per-object latency,
controller RSS/CPU and API-request figures.

API requests are counted three ways:

- ``controller_apiserver``: what the *apiserver* dispatched for the controller. The controller talks to the
  apiserver through a kubeconfig that impersonates a dedicated user (``BENCH_USER``, bound to cluster-admin),
  and a FlowSchema (``FLOW_SCHEMA``, exempt priority level, so it is never throttled by APF) matches that
  user; ``apiserver_flowcontrol_dispatched_requests_total{flow_schema=FLOW_SCHEMA}`` then counts exactly the
  controller's requests (watches count once, when they start). ``apiserver_request_total`` itself has no
  per-client label.
- ``controller_self_reported``: Argo's own client-side counter ``controller_clientset_k8s_request_total``
  from its metrics endpoint, also broken down by verb and by kind.
- ``apiserver_total``: the delta of ``apiserver_request_total`` (all clients: kube-controller-manager
  creating pods and garbage-collecting, the scheduler, kwok, and this module's own kubectl polling too;
  it counts a watch only when the watch ends, so it runs a little behind the other two).

Each count is also given per object (divided by N).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from watchers import DoneWatcher, completed_stamp, stamped_figures

from localkube.cluster import LocalCluster, die_with_parent, free_port

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "hack" / "argo" / "build.sh"
ARGO_VERSION = "v1.10.1"
CONTROLLER = "rollouts-controller"
CRDS_FILE = "argo-rollouts-crds.yaml"
CRD_NAMES = (
    "rollouts.argoproj.io",
    "experiments.argoproj.io",
    "analysisruns.argoproj.io",
    "analysistemplates.argoproj.io",
    "clusteranalysistemplates.argoproj.io",
)
BENCH_USER = "argo-rollouts-bench"  # the identity the controller impersonates, so the apiserver can count it
FLOW_SCHEMA = BENCH_USER  # install_counted_identity names the FlowSchema after the user
PART_OF = "argo-scale-bench"  # app.kubernetes.io/part-of on the Rollouts and their pods (so on RS too)
VERSION_LABEL = "app.kubernetes.io/version"
RSS_PERIOD = 0.2
DEFAULT_IMAGE = "registry.local/model-server"


class ArgoError(RuntimeError):
    """Building, installing or running Argo Rollouts failed; the message says where to look."""


# ---- build and install ------------------------------------------------------------------------------------


def ensure_argo() -> Path:
    """Build rollouts-controller and extract the CRDs when missing (no-op when cached); return the bin dir."""
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ArgoError(f"{BUILD_SCRIPT} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def install_argo(cluster: LocalCluster) -> None:
    """Install Argo's CRDs (server-side apply: the Rollout CRD is too big for client-side apply's annotation)
    and wait until they are Established; also the identity the controller runs as (``BENCH_USER``, see
    ``install_counted_identity``), and wait until the garbage collector handles Rollouts."""
    apply_argo_crds(cluster)
    install_counted_identity(cluster, BENCH_USER)
    wait_gc_monitors_rollouts(cluster)


def apply_argo_crds(cluster: LocalCluster) -> None:
    """Argo's CRDs, Established. Applying them long before the Argo phase lets the garbage collector's 30 s
    discovery resync pass meanwhile, so ``install_argo``'s wait for it costs nothing then."""
    crds = ensure_argo() / CRDS_FILE
    cluster.kubectl("apply", "--server-side", "--field-manager=argo-bench", "-f", str(crds))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{c}" for c in CRD_NAMES))


def install_counted_identity(cluster: LocalCluster, user: str) -> None:
    """A user bound to cluster-admin, and a FlowSchema of the same name that matches only that user, so
    ``apiserver_counts(cluster, flow_schema=user)`` counts the requests of a client impersonating it (see
    ``impersonating_kubeconfig``). The schema uses the exempt priority level: APF never queues the client,
    just as it never queues the admin user. Works for any controller, e.g. the operator on the other side."""
    manifests: list[dict[str, Any]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": user},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
        {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
            "kind": "FlowSchema",
            "metadata": {"name": user},
            "spec": {
                "matchingPrecedence": 50,  # before every suggested schema but "exempt" (1) and "probes" (2)
                "priorityLevelConfiguration": {"name": "exempt"},
                "rules": [
                    {
                        "subjects": [{"kind": "User", "user": {"name": user}}],
                        "resourceRules": [
                            {
                                "verbs": ["*"],
                                "apiGroups": ["*"],
                                "resources": ["*"],
                                "clusterScope": True,
                                "namespaces": ["*"],
                            }
                        ],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    }
                ],
            },
        },
    ]
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=argo-bench", "-f", "-", input=yaml.safe_dump_all(manifests)
    )


def impersonating_kubeconfig(cluster: LocalCluster, path: Path, user: str) -> Path:
    """The cluster's admin kubeconfig, impersonating ``user`` (``as:``), written to ``path``."""
    config: dict[str, Any] = yaml.safe_load(cluster.kubeconfig.read_text())
    for entry in config["users"]:
        entry["user"]["as"] = user
        entry["user"]["as-groups"] = ["system:authenticated"]
    path.write_text(yaml.safe_dump(config))
    return path


def wait_gc_monitors_rollouts(
    cluster: LocalCluster, namespace: str = "default", timeout: float = 90.0
) -> float:
    """Wait until kube-controller-manager's garbage collector watches Rollouts; return the seconds waited.

    The GC only learns of a new CRD at its periodic discovery resync (every 30 s): until then, deleting a
    Rollout leaves its ReplicaSets and pods in place, and the first delete after ``install_argo`` took ~29 s
    instead of ~2.5 s for 20 Rollouts. Probe: a ConfigMap owned by a Rollout that is then deleted; once the
    ConfigMap is collected, the GC sees Rollouts. Instant when it already does (no controller needs to run).
    """
    t0 = time.monotonic()
    name = "argo-bench-gc-probe"
    cluster.kubectl("delete", "rollouts.argoproj.io", name, "-n", namespace, "--ignore-not-found", "--wait")
    cluster.kubectl("delete", "configmap", name, "-n", namespace, "--ignore-not-found", "--wait")
    probe = rollout_manifest(name, f"{DEFAULT_IMAGE}:probe", "probe")
    probe["spec"]["replicas"] = 0
    uid = cluster.kubectl(
        "create", "-n", namespace, "-f", "-", "-o", "jsonpath={.metadata.uid}", input=json.dumps(probe)
    ).stdout.strip()
    owner = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name, "uid": uid}
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner]},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(dependent))
    cluster.kubectl("delete", "rollouts.argoproj.io", name, "-n", namespace, "--wait=false")
    while cluster.kubectl("get", "configmap", name, "-n", namespace, check=False).returncode == 0:
        if time.monotonic() - t0 > timeout:
            raise ArgoError(
                f"the garbage collector did not collect a Rollout's dependent within {timeout:.0f}s"
            )
        time.sleep(0.5)
    return time.monotonic() - t0


# ---- the controller ---------------------------------------------------------------------------------------


def start_argo(
    cluster: LocalCluster,
    namespace: str,
    log_path: Path,
    *,
    metrics_port: int | None = None,
    healthz_port: int | None = None,
    extra_args: Iterable[str] = (),
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start rollouts-controller out of cluster, watching only ``namespace``; return once its caches synced.

    Flags: ``--kubeconfig`` (out of cluster), ``--namespaced --namespace=NS`` (namespaced mode reads the
    namespace from the client config, which ``--namespace`` overrides), ``--leader-elect=false`` (the default
    is true), ``--metricsPort``/``--healthzPort`` on free ports (defaults 8090/8080; they bind 0.0.0.0). No
    traffic router needs a flag: a canary without ``trafficRouting`` is Argo's basic, replica-weighted canary.
    ``POD_NAMESPACE`` is where Argo looks for its notification/plugin ConfigMaps (default ``argo-rollouts``).
    The client keeps Argo's default limits (``--qps=40 --burst=80``, 10 rollout workers).
    """
    bin_dir = ensure_argo()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig = impersonating_kubeconfig(cluster, log_path.with_suffix(".kubeconfig"), BENCH_USER)
    metrics_port = metrics_port or free_port()
    healthz_port = healthz_port or free_port()
    args = [
        str(bin_dir / CONTROLLER),
        f"--kubeconfig={kubeconfig}",
        "--namespaced",
        f"--namespace={namespace}",
        "--leader-elect=false",
        f"--metricsPort={metrics_port}",
        f"--healthzPort={healthz_port}",
        "--logformat=text",
        *extra_args,
    ]
    env = {**os.environ, "POD_NAMESPACE": namespace}
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise ArgoError(
                f"{CONTROLLER} exited with code {proc.returncode}; log: {log_path}\n{_tail(log_path)}"
            )
        if "Started controller" in log_path.read_text(errors="replace") and _http_ok(
            f"http://127.0.0.1:{healthz_port}/healthz"
        ):
            return proc
        if time.monotonic() > deadline:
            stop_argo(proc)
            raise ArgoError(
                f"{CONTROLLER} not ready after {timeout:.0f}s; log: {log_path}\n{_tail(log_path)}"
            )
        time.sleep(0.1)


def stop_argo(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- the objects ------------------------------------------------------------------------------------------


def rollout_manifest(name: str, image: str, version: str) -> dict[str, Any]:
    """A 1-replica Rollout with a basic canary (no traffic router): 10% / pause 1s / 50% / pause 1s / 100%.

    ``version`` goes on the pod template as ``app.kubernetes.io/version``, which ``is_done`` checks."""
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": {**labels, VERSION_LABEL: version}},
                "spec": {
                    "containers": [
                        {"name": "server", "image": image, "ports": [{"name": "http", "containerPort": 8080}]}
                    ]
                },
            },
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 10},
                        {"pause": {"duration": "1s"}},
                        {"setWeight": 50},
                        {"pause": {"duration": "1s"}},
                        {"setWeight": 100},
                    ]
                }
            },
        },
    }


def is_done(body: Mapping[str, Any], version: str) -> bool:
    """The Rollout is fully promoted on ``version``: Argo observed the current generation, the spec's pod
    template carries ``version``, the stable ReplicaSet is the current pod hash, and the phase is Healthy (all
    replicas updated and available, no pause pending)."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    return bool(
        template_labels.get(VERSION_LABEL) == version
        and status.get("observedGeneration") == str(meta.get("generation"))
        and status.get("phase") == "Healthy"
        and status.get("stableRS")
        and status.get("stableRS") == status.get("currentPodHash")
        and status.get("availableReplicas", 0) >= spec.get("replicas", 1)
    )


# ---- measuring --------------------------------------------------------------------------------------------


class ProcessSampler:
    """Peak RSS of one process, sampled from /proc/<pid>/status every ``period`` seconds in a thread."""

    def __init__(self, pid: int, period: float = RSS_PERIOD) -> None:
        self.pid = pid
        self.period = period
        self.peak_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)

    def sample(self) -> None:
        rss = proc_status_kb(self.pid, "VmRSS")
        if rss is not None:
            self.peak_rss_kb = max(self.peak_rss_kb, rss)


def proc_status_kb(pid: int, field: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM, ...); None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_sum(text: str, name: str, **match: str) -> float:
    """Sum of a Prometheus text-format metric's samples whose labels include ``match``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = _SAMPLE.match(line)
        if m is None or m.group("name") != name:
            continue
        labels = dict(_LABEL.findall(m.group("labels") or ""))
        if all(labels.get(k) == v for k, v in match.items()):
            total += float(m.group("value"))
    return total


def metric_by_label(text: str, name: str, label: str) -> dict[str, float]:
    """A Prometheus metric's samples summed per value of ``label``."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None or m.group("name") != name:
            continue
        key = dict(_LABEL.findall(m.group("labels") or "")).get(label, "")
        out[key] = out.get(key, 0.0) + float(m.group("value"))
    return out


def apiserver_counts(cluster: LocalCluster, flow_schema: str = FLOW_SCHEMA) -> dict[str, float]:
    """All requests the apiserver counted (``total``), and those it dispatched for ``flow_schema``
    (``controller``); take the difference of two calls."""
    text = cluster.kubectl("get", "--raw", "/metrics").stdout
    return {
        "total": metric_sum(text, "apiserver_request_total"),
        "controller": metric_sum(
            text, "apiserver_flowcontrol_dispatched_requests_total", flow_schema=flow_schema
        ),
    }


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method); ``q`` in 0..100."""
    if not values:
        return float("nan")
    s = sorted(values)
    rank = (len(s) - 1) * q / 100
    lo = int(rank)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (rank - lo)


# ---- the scale run ----------------------------------------------------------------------------------------


def run_argo_scale(
    cluster: LocalCluster,
    namespace: str,
    n: int,
    log_dir: Path,
    *,
    image: str = DEFAULT_IMAGE,
    controller_args: Iterable[str] = (),
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Create, update and delete ``n`` Rollouts under one rollouts-controller; return the figures.

    Times are seconds from just before the ``kubectl apply`` (or ``delete``) to the end of the first poll that
    saw the object done (by watch: ``watchers.DoneWatcher``). ``install_argo`` is called
    first (idempotent). The namespace is created if missing and should hold nothing else.

    Returned keys: ``system``, ``n``, ``create``/``update`` (``apply_s``, ``all_done_s``, ``p50_s``,
    ``p99_s``, ``max_s``), ``delete`` (``all_gone_s``), ``controller`` (``peak_rss_mb`` sampled
    every 0.2 s, ``hwm_rss_mb`` from the kernel's VmHWM, ``cpu_s`` and ``cpu_s_by_phase`` including startup),
    ``api_requests`` (``controller_apiserver``, ``controller_self_reported``, ``apiserver_total``, each with
    ``total``, ``per_object`` and ``by_phase``; ``controller_self_reported_by_verb``/``_by_kind``),
    ``install_s``, ``startup_s``, ``log``. ``controller_args`` go to rollouts-controller as they are
    (e.g. ``["--qps=400", "--burst=800"]``).
    """
    t_install = time.monotonic()
    install_argo(cluster)
    install_s = time.monotonic() - t_install
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
    )
    names = [f"argo-{i:04d}" for i in range(n)]
    log_path = log_dir / f"rollouts-controller-{namespace}-{n}.log"
    metrics_port = free_port()

    api: dict[str, dict[str, float]] = {"start": apiserver_counts(cluster)}
    t_start = time.monotonic()
    proc = start_argo(cluster, namespace, log_path, metrics_port=metrics_port, extra_args=controller_args)
    startup_s = time.monotonic() - t_start
    cpu: dict[str, float] = {"start": 0.0}
    own: dict[str, float] = {"start": 0.0}

    def mark(phase: str) -> None:
        cpu[phase] = cpu_seconds(proc.pid)
        api[phase] = apiserver_counts(cluster)
        own[phase] = metric_sum(_argo_metrics(metrics_port), "controller_clientset_k8s_request_total")

    rollouts = DoneWatcher(cluster.kubeconfig, "argoproj.io", "v1alpha1", "rollouts", namespace)
    replicasets = DoneWatcher(cluster.kubeconfig, "apps", "v1", "replicasets", namespace)
    try:
        with ProcessSampler(proc.pid) as sampler:
            mark("ready")
            create = _apply_and_wait(rollouts, cluster, namespace, names, image, "v1", proc, timeout)
            mark("create")
            update = _apply_and_wait(rollouts, cluster, namespace, names, image, "v2", proc, timeout)
            mark("update")
            delete_s = _delete_and_wait(rollouts, replicasets, cluster, namespace, proc, timeout)
            mark("delete")
            own_text = _argo_metrics(metrics_port)
            hwm_kb = proc_status_kb(proc.pid, "VmHWM") or 0
    finally:
        rollouts.stop()
        replicasets.stop()
        stop_argo(proc)

    phases = ("ready", "create", "update", "delete")

    def deltas(series: Mapping[str, float]) -> dict[str, float]:
        order = ("start", *phases)
        return {p: series[p] - series[order[i]] for i, p in enumerate(phases)}

    def counts(series: Mapping[str, float]) -> dict[str, Any]:
        total = series["delete"] - series["start"]
        return {"total": total, "per_object": total / n, "by_phase": deltas(series)}

    return {
        "system": f"argo-rollouts {ARGO_VERSION}",
        "n": n,
        "install_s": install_s,
        "startup_s": startup_s,
        "create": create,
        "update": update,
        "delete": {"all_gone_s": delete_s},
        "controller": {
            "peak_rss_mb": sampler.peak_rss_kb / 1024,
            "hwm_rss_mb": hwm_kb / 1024,
            "cpu_s": cpu["delete"],
            "cpu_s_by_phase": deltas(cpu),
        },
        "api_requests": {
            "controller_apiserver": counts({p: v["controller"] for p, v in api.items()}),
            "controller_self_reported": counts(own),
            "apiserver_total": counts({p: v["total"] for p, v in api.items()}),
            "controller_self_reported_by_verb": metric_by_label(
                own_text, "controller_clientset_k8s_request_total", "verb"
            ),
            "controller_self_reported_by_kind": _fold_kinds(
                metric_by_label(own_text, "controller_clientset_k8s_request_total", "kind"), set(names)
            ),
        },
        "log": str(log_path),
    }


def _alive(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        raise ArgoError(f"{CONTROLLER} exited with code {proc.returncode} mid-run")


def _apply_and_wait(
    watcher: DoneWatcher,
    cluster: LocalCluster,
    namespace: str,
    names: list[str],
    image: str,
    version: str,
    proc: subprocess.Popen[bytes],
    timeout: float,
) -> dict[str, Any]:
    """One server-side apply of all the Rollouts on ``version``; a watch records when each is done."""
    watcher.expect(lambda item: is_done(item, version))
    body = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [rollout_manifest(m, f"{image}:{version}", version) for m in names],
    }
    t0, wall_t0 = time.monotonic(), time.time()
    cluster.kubectl(
        "apply",
        "--server-side",
        "--field-manager=argo-bench",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(body),
    )
    apply_s = time.monotonic() - t0
    done = watcher.wait(len(names), timeout, lambda: _alive(proc))
    times = list(done.values())
    listed = json.loads(cluster.kubectl("get", "rollouts.argoproj.io", "-n", namespace, "-o", "json").stdout)
    return {
        "apply_s": apply_s,
        "all_done_s": max(times),
        "p50_s": percentile(times, 50),
        "p99_s": percentile(times, 99),
        "max_s": max(times),
        **stamped_figures(listed["items"], completed_stamp, wall_t0),
    }


def _delete_and_wait(
    rollouts: DoneWatcher,
    replicasets: DoneWatcher,
    cluster: LocalCluster,
    namespace: str,
    proc: subprocess.Popen[bytes],
    timeout: float,
) -> float:
    """Delete every Rollout; return the seconds until no Rollout and none of their ReplicaSets is left."""
    t0 = time.monotonic()
    cluster.kubectl(
        "delete",
        "rollouts.argoproj.io",
        "-n",
        namespace,
        "-l",
        f"app.kubernetes.io/part-of={PART_OF}",
        "--wait=false",
    )
    rollouts.wait_gone(timeout, lambda: _alive(proc))
    replicasets.wait_gone(timeout, lambda: _alive(proc))
    return time.monotonic() - t0


def _fold_kinds(by_kind: Mapping[str, float], names: set[str]) -> dict[str, float]:
    """Argo's client metric takes the path segment before the last as the kind of a Get/Patch/Update, so a
    ``rollouts/NAME/status`` write is counted under kind NAME; and a protobuf Create body it cannot parse is
    counted under kind "". Fold those into ``rollouts/status`` and ``unparsed-create``."""
    out: dict[str, float] = {}
    for kind, value in by_kind.items():
        key = "rollouts/status" if kind in names else kind or "unparsed-create"
        out[key] = out.get(key, 0.0) + value
    return out


def _argo_metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return str(resp.read().decode())


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"
