"""The cluster side of the CLI: kubeconfig resolution, reads, and manual requests via the status subresource.

A request is a merge patch of ``status.request`` carrying the resourceVersion that was read, so it cannot
overwrite a status the operator wrote in between; on 409 the object is read again, the phase re-checked and
the patch retried. The spec and annotations are never touched: Argo CD and Flux own the spec.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from modeldeploy.api import GROUP, PLURAL, VERSION
from modeldeploy.cli.errors import CliError

Body = dict[str, Any]
CONFLICT_RETRIES = 5


@dataclass
class Cluster:
    api: client.ApiClient
    namespace: str
    where: str  # the kubeconfig (or in-cluster) the client came from, for error messages

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)


def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Cluster:
    """The standard resolution: --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else in-cluster."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        if kubeconfig or os.environ.get("KUBECONFIG") or os.path.exists(path):
            contexts, active = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
            if context:
                active = next((c for c in contexts if c["name"] == context), None)
                if active is None:
                    names = ", ".join(c["name"] for c in contexts)
                    raise CliError(
                        f"context {context!r} is not in {path} (contexts: {names}); pass --context"
                    )
            api = config.new_client_from_config(config_file=path, context=context)  # type: ignore[no-untyped-call]
            default_ns = (active.get("context") or {}).get("namespace") or "default"
            where = f"kubeconfig {path}"
        else:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            api = client.ApiClient()
            default_ns = "default"
            where = "the in-cluster service account"
    except (config.ConfigException, OSError, TypeError) as exc:
        raise CliError(
            f"no cluster access: cannot load {path} ({exc}); set KUBECONFIG or pass --kubeconfig"
        ) from exc
    api.configuration.retries = 1  # fail fast on a dead apiserver instead of urllib3's default 3 tries
    return Cluster(api, namespace or default_ns, where)


def _call(cluster: Cluster, what: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ApiException as exc:
        if exc.status in (401, 403):
            raise CliError(
                f"forbidden: {what} was refused ({exc.status} {exc.reason}) for the user in {cluster.where}; "
                "check your RBAC (kubectl auth can-i)"
            ) from exc
        if exc.status == 404 and "the server could not find the requested resource" in str(exc.body):
            raise CliError(
                f"the ModelDeployment CRD ({PLURAL}.{GROUP}) is not installed in the cluster of "
                f"{cluster.where}; install it with: kubectl apply -k deploy/kustomize/base"
            ) from exc
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise CliError(
            f"no cluster access: {cluster.api.configuration.host} from {cluster.where} is unreachable "
            f"({type(exc).__name__}); check KUBECONFIG and that the cluster is up"
        ) from exc


def get(cluster: Cluster, name: str) -> Body:
    try:
        body: Body = _call(
            cluster,
            f"get modeldeployment {name}",
            lambda: cluster.custom.get_namespaced_custom_object(
                GROUP, VERSION, cluster.namespace, PLURAL, name
            ),
        )
    except ApiException as exc:
        if exc.status == 404:
            raise CliError(
                f'modeldeployment "{name}" not found in namespace "{cluster.namespace}"; '
                f"list them with: kubectl mdep list -n {cluster.namespace} (or -A for all namespaces)"
            ) from exc
        raise CliError(f"get modeldeployment {name}: {exc.status} {exc.reason}") from exc
    return body


def list_all(cluster: Cluster, all_namespaces: bool) -> list[Body]:
    def fetch() -> Any:
        if all_namespaces:
            return cluster.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        return cluster.custom.list_namespaced_custom_object(GROUP, VERSION, cluster.namespace, PLURAL)

    try:
        out = _call(cluster, "list modeldeployments", fetch)
    except ApiException as exc:
        raise CliError(f"list modeldeployments: {exc.status} {exc.reason}") from exc
    items: list[Body] = out.get("items", [])
    return sorted(items, key=lambda b: (b["metadata"].get("namespace", ""), b["metadata"]["name"]))


def events(cluster: Cluster, body: Body) -> list[Any]:
    uid = body["metadata"]["uid"]
    core = client.CoreV1Api(cluster.api)
    try:
        out = _call(
            cluster,
            "list events",
            lambda: core.list_namespaced_event(cluster.namespace, field_selector=f"involvedObject.uid={uid}"),
        )
    except (ApiException, CliError):
        return []  # events are a nicety in a report; their absence must not fail it
    items: list[Any] = out.items
    return items


def send_request(
    cluster: Cluster,
    name: str,
    action: str,
    check: Callable[[Body], None],
    status: Callable[[str, str], Body] | None = None,
) -> tuple[str, Body]:
    """Write ``status.request`` (compare-and-swap on resourceVersion); returns the request id and the body.
    ``status(id, requestedAt)``: another status field to write instead (a batch run request)."""
    request_id = str(uuid.uuid4())
    for _ in range(CONFLICT_RETRIES):
        body = get(cluster, name)
        check(body)
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        written = {"request": {"action": action, "id": request_id, "requestedAt": at}}
        patch = {
            "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
            "status": written if status is None else status(request_id, at),
        }

        def patch_status(p: Body = patch) -> Any:
            return cluster.custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                cluster.namespace,
                PLURAL,
                name,
                p,
                _content_type="application/merge-patch+json",
            )

        try:
            out: Body = _call(cluster, f"patch modeldeployment {name} status", patch_status)
            return request_id, out
        except ApiException as exc:
            if exc.status == 409:
                continue
            if exc.status == 404:
                raise CliError(
                    f'modeldeployment "{name}" was deleted in namespace "{cluster.namespace}"'
                ) from exc
            raise CliError(
                f"{action} {name}: the apiserver refused the request: {exc.status} {exc.reason}"
            ) from exc
    raise CliError(f"{action} {name}: the status kept changing under {CONFLICT_RETRIES} attempts; try again")


def wait_handled(
    cluster: Cluster,
    name: str,
    request_id: str,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    handled: Callable[[Body], str | None] = lambda st: st.get("lastHandledRequestId"),
) -> Body:
    """Poll until the operator records ``lastHandledRequestId == request_id``; bounded by ``timeout``.
    ``handled(status)``: where the handled id is recorded, when not there."""
    deadline = time.monotonic() + timeout
    while True:
        body = get(cluster, name)
        if handled(body.get("status") or {}) == request_id:
            return body
        if time.monotonic() >= deadline:
            raise CliError(
                f"request {request_id} is written but the operator has not handled it within {timeout:g}s; "
                "is the operator running? (kubectl get pods -n kdap-system). "
                f"Check later with: kubectl mdep status {name} -n {cluster.namespace}",
                code=3,
            )
        sleep(0.5)
