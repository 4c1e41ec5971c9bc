"""The GitOps loop the Flux e2e drives: a repository on the loopback Git server, a GitRepository and a
Kustomization applying one folder of it into the test's namespace, and an observer that records the
timeline (commit -> Flux applied -> phase changes -> Flux health) while the test waits."""

from __future__ import annotations

import copy
import difflib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from localkube.flux import FluxControllers
from localkube.gitserver import Repo
from localkube.testing import ClusterHandle

T = TypeVar("T")
MD = ("mlops.kdap.io", "v1alpha1", "modeldeployments")
KS = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
GR = ("source.toolkit.fluxcd.io", "v1", "gitrepositories")
NAME = "team-models"  # the GitRepository and the Kustomization
PATH = "teams/ml"
FLUX_LABELS = ("kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace")


@dataclass
class Timeline:
    t0: float = field(default_factory=time.monotonic)
    entries: list[tuple[float, str]] = field(default_factory=list)

    def mark(self, what: str) -> None:
        self.entries.append((time.monotonic() - self.t0, what))

    def render(self) -> str:
        return "\n".join(f"{t:7.1f}s  {what}" for t, what in self.entries)


def kustomization_file(resources: list[str]) -> str:
    return yaml.safe_dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    )


@dataclass
class FluxLoop:
    cluster: ClusterHandle
    api: client.ApiClient
    flux: FluxControllers
    repo: Repo
    url: str
    namespace: str
    md_name: str
    timeline: Timeline = field(default_factory=Timeline)
    _seen: dict[str, str] = field(default_factory=dict)
    _log_offset: int = 0
    applies: list[tuple[str, str]] = field(default_factory=list)  # (revision, the MD's action) in order

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    # ---- set-up ---------------------------------------------------------------------------------------

    def install(self, interval: str = "2s") -> None:
        """The GitRepository and a Kustomization with pruning and health checks (``wait``) on. A short
        ``interval``: Flux re-applies (and would correct drift) that often during the test."""
        source = {"interval": "1m", "timeout": "20s", "url": self.url, "ref": {"branch": "main"}}
        kustomization = {
            "interval": interval,
            "retryInterval": "2s",
            "timeout": "60s",
            "path": f"./{PATH}",
            "prune": True,
            "wait": True,
            "targetNamespace": self.namespace,
            "sourceRef": {"kind": "GitRepository", "name": NAME},
        }
        for (group, version, plural), kind, spec in (
            (GR, "GitRepository", source),
            (KS, "Kustomization", kustomization),
        ):
            body = {
                "apiVersion": f"{group}/{version}",
                "kind": kind,
                "metadata": {"name": NAME, "namespace": self.namespace},
                "spec": spec,
            }
            self.custom.create_namespaced_custom_object(group, version, self.namespace, plural, body)

    def uninstall(self) -> None:
        """Delete the Kustomization and its source while the controllers still run (their finalizers)."""
        for group, version, plural in (KS, GR):
            try:
                self.custom.delete_namespaced_custom_object(group, version, self.namespace, plural, NAME)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        end = time.monotonic() + 30
        while time.monotonic() < end and (self._get(KS, NAME) or self._get(GR, NAME)):
            time.sleep(0.3)

    # ---- Git ------------------------------------------------------------------------------------------

    def push(self, message: str, files: dict[str, str | None]) -> str:
        sha = self.repo.commit(message, files)
        self._pushed(sha, message)
        return sha

    def revert(self, sha: str) -> str:
        new = self.repo.revert(sha)
        self._pushed(new, f"revert {sha[:7]}")
        return new

    def _pushed(self, sha: str, message: str) -> None:
        self.timeline.mark(f"commit {sha[:7]} pushed: {message}")
        # What `flux reconcile source git` does: ask for a fetch now instead of at the next interval.
        patch = {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": str(time.time())}}}
        try:
            self.custom.patch_namespaced_custom_object(*GR[:2], self.namespace, GR[2], NAME, patch)
        except ApiException as exc:
            if exc.status != 404:  # not installed yet: its first fetch takes this commit anyway
                raise

    # ---- reading --------------------------------------------------------------------------------------

    def _get(self, kind: tuple[str, str, str], name: str) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = self.custom.get_namespaced_custom_object(
                kind[0], kind[1], self.namespace, kind[2], name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return body

    def md(self) -> dict[str, Any] | None:
        return self._get(MD, self.md_name)

    def kustomization(self) -> dict[str, Any]:
        body = self._get(KS, NAME)
        assert body is not None
        return body

    def flux_ready(self) -> tuple[str, str, str]:
        """(status, reason, message) of the Kustomization's Ready condition."""
        conditions = (self.kustomization().get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c["type"] == "Ready"), None)
        return (ready["status"], ready["reason"], ready["message"]) if ready else ("Unknown", "", "")

    def applied_revisions(self, sha: str) -> list[str]:
        """The MD's action in every server-side apply of revision ``sha`` so far, in order."""
        self.observe()
        return [action for revision, action in self.applies if revision.endswith(sha)]

    def diff(self, manifest: dict[str, Any]) -> str:
        """What applying the Git manifest as Flux applies it (target namespace, Flux's labels, Flux's field
        manager; a server-side dry run) would change in the live object, as a unified diff: empty when
        nothing. The status subresource and the resourceVersion are left out: an apply never writes them,
        and the operator's analyses move them between the two reads (``kubectl diff`` reported those)."""
        body = copy.deepcopy(manifest)
        body["metadata"]["namespace"] = self.namespace
        labels = body["metadata"].setdefault("labels", {})
        labels.update({FLUX_LABELS[0]: NAME, FLUX_LABELS[1]: self.namespace})
        applied = self.cluster.kubectl(
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=kustomize-controller",
            "-o",
            "json",
            "-f",
            "-",
            input=json.dumps(body),
        )
        live = self.cluster.kubectl(
            "get",
            "-n",
            self.namespace,
            "modeldeployments.mlops.kdap.io",
            body["metadata"]["name"],
            "-o",
            "json",
        )
        before, after = (_applied_part(json.loads(x.stdout)) for x in (live, applied))
        return "".join(
            difflib.unified_diff(before.splitlines(True), after.splitlines(True), "live", "applied")
        )

    # ---- waiting and the timeline ---------------------------------------------------------------------

    def observe(self) -> None:
        """Record what changed since the last look: the MD's phase, Flux's Ready, new applies."""
        md = self.md()
        status = (md or {}).get("status") or {}
        self._note("md", f"{self.md_name} phase {status.get('phase')}" if md else f"{self.md_name} absent")
        ready, reason, _ = self.flux_ready()
        attempted = str((self.kustomization().get("status") or {}).get("lastAttemptedRevision", ""))
        sha = attempted.rsplit(":", 1)[-1][:7]
        # Flux marks Ready Unknown at the start of every reconcile (every interval): only the verdicts and
        # the first wait on each revision go into the timeline.
        if ready != "Unknown":
            self._note("flux", f"Flux Kustomization Ready={ready} ({reason}) on {sha}")
        elif sha and f"wait {sha}" not in self._seen:
            self._seen[f"wait {sha}"] = "seen"
            self.timeline.mark(f"Flux reconciling {sha}: Ready=Unknown ({reason})")
        self.flux.check_alive()
        records = self.flux.log_records("kustomize-controller")
        for record in records[self._log_offset :]:
            if record.get("msg") != "server-side apply completed":
                continue
            if record.get("namespace") != self.namespace:
                continue
            output: dict[str, str] = record.get("output") or {}
            key = f"ModelDeployment/{self.namespace}/{self.md_name}"
            action = output.get(key, "absent")
            revision = str(record.get("revision", ""))
            self.applies.append((revision, action))
            if action != "unchanged":
                self.timeline.mark(f"Flux applied {revision.rsplit(':', 1)[-1][:7]}: {self.md_name} {action}")
        self._log_offset = len(records)

    def _note(self, key: str, value: str) -> None:
        if self._seen.get(key) != value:
            self._seen[key] = value
            self.timeline.mark(value)

    def wait(self, check: Callable[[], T | None], what: str, timeout: float = 60) -> T:
        end = time.monotonic() + timeout
        while True:
            self.observe()
            got = check()
            if got is not None and got is not False:
                return got
            if time.monotonic() > end:
                raise AssertionError(
                    f"timed out waiting for {what}\n{self.timeline.render()}\nKustomization status: "
                    f"{json.dumps(self.kustomization().get('status'), indent=1)[-3000:]}\n"
                    f"MD status: {json.dumps((self.md() or {}).get('status'), indent=1)[-3000:]}"
                )
            time.sleep(0.25)


def run_kubectl_json(cluster: ClusterHandle, *args: str) -> dict[str, Any]:
    out = cluster.kubectl(*args, "-o", "json").stdout
    body: dict[str, Any] = json.loads(out)
    return body


def children(cluster: ClusterHandle, namespace: str) -> dict[str, list[str]]:
    """Names of the Deployments, Services and HTTPRoutes in ``namespace`` (what the operator creates)."""
    found: dict[str, list[str]] = {}
    for kind in ("deployments", "services", "httproutes"):
        items = run_kubectl_json(cluster, "get", kind, "-n", namespace)["items"]
        found[kind] = sorted(i["metadata"]["name"] for i in items)
    return found


def spec_writers(md: dict[str, Any]) -> set[str]:
    """Managers of the object's main resource (not its status): who has ever written the spec."""
    return {m["manager"] for m in md["metadata"].get("managedFields", []) if m.get("subresource") != "status"}


def _applied_part(obj: dict[str, Any]) -> str:
    """The object as YAML without what an apply of the main resource never changes (status and who
    manages it, resourceVersion) and without the managed-fields timestamps."""
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    obj["metadata"].pop("resourceVersion", None)
    fields = [f for f in obj["metadata"].get("managedFields") or [] if f.get("subresource") != "status"]
    for entry in fields:
        entry.pop("time", None)
    obj["metadata"]["managedFields"] = fields
    return yaml.safe_dump(obj, sort_keys=True)
