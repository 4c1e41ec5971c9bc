"""Proof that the local control plane is a real Kubernetes API: schema and CEL validation, the status
subresource, optimistic concurrency, scheduling onto kwok nodes, HPA v2, Gateway API, finalizers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from localkube.binaries import BUILD_SCRIPT
from localkube.testing import ClusterHandle

pytestmark = pytest.mark.cluster

GROUP, VERSION, PLURAL = "probe.kdap.io", "v1", "widgets"

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                    "min": {"type": "integer"},
                                    "max": {"type": "integer"},
                                },
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "!has(self.min) || !has(self.max) || self.min <= self.max",
                                        "message": "min must not exceed max",
                                        "fieldPath": ".min",
                                    }
                                ],
                            },
                            "status": {"type": "object", "properties": {"seen": {"type": "integer"}}},
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def widgets(cluster: ClusterHandle) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(WIDGET_CRD))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{PLURAL}.{GROUP}")


def _widget(name: str, **spec: int) -> dict[str, object]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def _wait(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_binaries_report_the_pinned_versions(cluster: ClusterHandle) -> None:
    if cluster.local is None:
        pytest.skip("KUBECONFIG names an external cluster: no local binaries to inspect")
    out = cluster.kubectl("version", "-o", "json").stdout
    server = json.loads(out)["serverVersion"]["gitVersion"]
    go_mod = (BUILD_SCRIPT.parent / "kube" / "go.mod").read_text()
    k8s_version = next(
        ln.split()[-1] for ln in go_mod.splitlines() if ln.startswith("require k8s.io/kubernetes")
    )
    assert server == k8s_version


def test_openapi_schema_violation_is_rejected(
    widgets: None, k8s_api: client.ApiClient, namespace: str
) -> None:
    api = client.CustomObjectsApi(k8s_api)
    with pytest.raises(ApiException) as err:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("too-big", size=11))
    assert err.value.status == 422
    assert "spec.size" in err.value.body
    assert "less than or equal to 10" in err.value.body


def test_cel_rule_violation_is_rejected(widgets: None, k8s_api: client.ApiClient, namespace: str) -> None:
    api = client.CustomObjectsApi(k8s_api)
    with pytest.raises(ApiException) as err:
        api.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _widget("bad", size=1, min=5, max=2)
        )
    assert err.value.status == 422
    assert "spec.min" in err.value.body
    assert "min must not exceed max" in err.value.body
    created = api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _widget("good", size=1, min=1, max=2)
    )
    assert created["spec"] == {"size": 1, "min": 1, "max": 2}


def test_status_writes_do_not_bump_generation(
    widgets: None, k8s_api: client.ApiClient, namespace: str
) -> None:
    api = client.CustomObjectsApi(k8s_api)
    obj = api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("w", size=2))
    assert obj["metadata"]["generation"] == 1
    after = api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "w", {"status": {"seen": 7}}
    )
    assert after["status"] == {"seen": 7}
    assert after["metadata"]["generation"] == 1
    # status in a main-resource write is ignored, and a spec change bumps the generation
    spec_change = api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "w", {"spec": {"size": 3}, "status": {"seen": 99}}
    )
    assert spec_change["metadata"]["generation"] == 2
    assert spec_change["status"] == {"seen": 7}


def test_stale_resource_version_gets_409(widgets: None, k8s_api: client.ApiClient, namespace: str) -> None:
    api = client.CustomObjectsApi(k8s_api)
    obj = api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("c", size=2))
    stale = dict(obj)
    fresh = api.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "c", {**obj, "spec": {"size": 4}}
    )
    assert fresh["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as err:
        api.replace_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "c", {**stale, "spec": {"size": 5}}
        )
    assert err.value.status == 409
    assert "the object has been modified" in err.value.body


def test_finalizer_holds_deletion(widgets: None, k8s_api: client.ApiClient, namespace: str) -> None:
    api = client.CustomObjectsApi(k8s_api)
    body = _widget("f", size=1)
    body["metadata"] = {"name": "f", "finalizers": ["probe.kdap.io/hold"]}
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "f")
    held = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "f")
    assert held["metadata"]["deletionTimestamp"]
    api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "f", {"metadata": {"finalizers": None}}
    )

    def gone() -> bool:
        try:
            api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "f")
        except ApiException as exc:
            return exc.status == 404
        return False

    _wait(gone, "the widget to be deleted once its finalizer is removed")


def test_deployment_pods_run_on_kwok_nodes(k8s_api: client.ApiClient, namespace: str) -> None:
    apps = client.AppsV1Api(k8s_api)
    core = client.CoreV1Api(k8s_api)
    labels = {"app": "probe"}
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="probe"),
            spec=client.V1DeploymentSpec(
                replicas=3,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="c", image="example.invalid/probe:1")]
                    ),
                ),
            ),
        ),
    )

    def running() -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector="app=probe").items
        return len(pods) == 3 and all(p.status.phase == "Running" and p.spec.node_name for p in pods)

    _wait(running, "3 pods Running on kwok nodes")
    _wait(
        lambda: (
            (apps.read_namespaced_deployment(name="probe", namespace=namespace).status.ready_replicas or 0)
            == 3
        ),
        "the Deployment to report 3 ready replicas",
    )
    nodes = {p.spec.node_name for p in core.list_namespaced_pod(namespace).items}
    assert nodes <= {n.metadata.name for n in core.list_node().items}


def test_hpa_v2_and_httproute_are_accepted(
    kubectl: Callable[..., object], cluster: ClusterHandle, namespace: str
) -> None:
    manifests = [
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "scorer"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scorer"},
                "minReplicas": 2,
                "maxReplicas": 6,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "scorer"},
            "spec": {
                "parentRefs": [{"name": "gw"}],
                "rules": [
                    {
                        "backendRefs": [
                            {"name": "stable", "port": 80, "weight": 90},
                            {"name": "canary", "port": 80, "weight": 10},
                        ],
                        "filters": [
                            {
                                "type": "RequestMirror",
                                "requestMirror": {
                                    "backendRef": {"name": "shadow", "port": 80},
                                    "percent": 20,
                                },
                            }
                        ],
                    }
                ],
            },
        },
    ]
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(manifests))
    hpa = json.loads(cluster.kubectl("get", "hpa", "scorer", "-n", namespace, "-o", "json").stdout)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    route = json.loads(cluster.kubectl("get", "httproute", "scorer", "-n", namespace, "-o", "json").stdout)
    rule = route["spec"]["rules"][0]
    assert [b["weight"] for b in rule["backendRefs"]] == [90, 10]
    assert rule["filters"][0]["requestMirror"]["percent"] == 20
    # the Gateway API's own CEL rules run too: percent and fraction together are rejected
    bad = dict(manifests[1])
    bad["metadata"] = {"name": "bad"}
    bad["spec"] = {
        "rules": [
            {
                "filters": [
                    {
                        "type": "RequestMirror",
                        "requestMirror": {
                            "backendRef": {"name": "shadow", "port": 80},
                            "percent": 20,
                            "fraction": {"numerator": 1},
                        },
                    }
                ]
            }
        ]
    }
    rejected = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert rejected.returncode != 0
    assert "Only one of percent or fraction may be specified" in rejected.stderr
