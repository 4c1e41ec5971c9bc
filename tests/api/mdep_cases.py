"""Valid base manifests and invalid variations, shared by the pure tests and the real-apiserver tests.

Each invalid case names the field the apiserver must blame (``path``), a fragment of the apiserver's message
(``server``) and a fragment of the pydantic error (``python``), so both sides are held to explaining it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]


def kubernetes_canary() -> Manifest:
    return {
        "target": {
            "type": "kubernetes",
            "kubernetes": {
                "image": "ghcr.io/kdap/lightgbm-server:1.4.0",
                "gateway": {"name": "ml-gateway", "namespace": "gateways"},
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"cpu": 1, "memory": "2Gi"},
                },
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
            },
        },
        "model": {
            "name": "budget-optimizer",
            "version": "1.4.0",
            "framework": "lightgbm",
            "artifactUri": "https://kdapmodels.blob.core.windows.net/models/budget-optimizer/1.4.0/model.txt",
        },
        "strategy": {
            "type": "canary",
            "canary": {
                "steps": [{"weight": 10, "pause": {"duration": "10m"}, "analysis": True}, {"weight": 100}]
            },
        },
        "autoscaling": {"minReplicas": 2, "maxReplicas": 6},
        "analysis": {
            "metrics": [
                {"name": "error-rate", "provider": "prometheus", "builtin": "errorRate", "max": 0.01}
            ],
            "drift": {
                "reference": {"uri": "azureml://datastores/ref/paths/budget/train.parquet"},
                "live": {"uri": "azureml://datastores/live/paths/budget/"},
                "numerical": [{"name": "spend"}],
                "categorical": [{"name": "channel"}],
            },
        },
    }


def azureml_shadow() -> Manifest:
    return {
        "target": {
            "type": "azureml",
            "azureml": {
                "subscriptionId": "00000000-0000-0000-0000-000000000000",
                "resourceGroup": "rg-kdap",
                "workspace": "mlw-kdap",
                "endpointName": "propensity",
                "instanceType": "Standard_DS3_v2",
            },
        },
        "model": {
            "name": "propensity-scorer",
            "version": "2.1.0",
            "framework": "xgboost",
            "registry": "azureml:propensity-scorer:7",
            "code": {"uri": "azureml:propensity-score-code:3"},
            "environment": {"azureml": "azureml:xgboost-inference:12"},
        },
        "strategy": {
            "type": "shadow",
            "shadow": {"mirrorPercent": 20, "duration": "1h", "comparison": {"latency": {}}},
        },
    }


def serverless_canary() -> Manifest:
    """One adapter of the seed's Llama-3.1-8B-Instruct serverless endpoint, a new version canaried by the
    gateway and judged on the gateway's per-revision series."""
    return {
        "target": {
            "type": "serverless",
            "serverless": {
                "subscriptionId": "00000000-0000-0000-0000-000000000000",
                "resourceGroup": "rg-kdap",
                "workspace": "mlw-kdap",
                "endpointName": "llama-31-8b",
                "adapter": "coding",
                "gateway": {"resourceGroup": "rg-kdap", "service": "kdap-apim"},
            },
        },
        "model": {
            "name": "coding",
            "version": "1.3.0",
            "registry": "azureml://registries/kdap-models/models/coding-lora/versions/4",
        },
        "strategy": {
            "type": "canary",
            "canary": {"steps": [{"weight": 10, "analysis": True}, {"weight": 100}]},
        },
        "analysis": {
            "metrics": [
                {
                    "name": "error-rate",
                    "provider": "prometheus",
                    "query": 'sum(rate(llm_errors_total{adapter="$adapter",revision="$revision"}[5m]))',
                    "max": 0.02,
                }
            ]
        },
    }


@dataclass(frozen=True)
class Invalid:
    id: str
    base: Callable[[], Manifest]
    mutate: Callable[[Manifest], None]
    path: str  # the field the apiserver's message must name
    server: str  # a fragment of the apiserver's message
    python: str  # a fragment of pydantic's message

    def spec(self) -> Manifest:
        spec = copy.deepcopy(self.base())
        self.mutate(spec)
        return spec


def _set(path: str, value: Any) -> Callable[[Manifest], None]:
    """A mutation that sets a dotted path ("strategy.canary.steps.0.weight"); None deletes the key."""

    def mutate(spec: Manifest) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        elif value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return mutate


def _all(*mutations: Callable[[Manifest], None]) -> Callable[[Manifest], None]:
    def mutate(spec: Manifest) -> None:
        for m in mutations:
            m(spec)

    return mutate


K, A, S = kubernetes_canary, azureml_shadow, serverless_canary
KT, AT, ST = "target.kubernetes", "target.azureml", "target.serverless"
_AML_K8S = _set(f"{AT}.endpointKind", "kubernetes")
_NEEDS_ONE = "must be set, not both"

INVALID: list[Invalid] = [
    # target
    Invalid(
        "target-type-enum",
        K,
        _set("target.type", "aks"),
        "spec.target.type",
        'Unsupported value: "aks"',
        "'kubernetes', 'azureml' or 'serverless'",
    ),
    Invalid(
        "target-block-mismatch",
        K,
        _set("target.azureml", A()["target"]["azureml"]),
        "spec.target",
        "target.type names the one block",
        "target.type names the one block",
    ),
    Invalid(
        "target-block-missing",
        A,
        _set(f"{AT}", None),
        "spec.target",
        "target.azureml for azureml",
        "target.azureml for azureml",
    ),
    Invalid(
        "image-latest",
        K,
        _set(f"{KT}.image", "ghcr.io/kdap/server:latest"),
        "spec.target.kubernetes.image",
        "tag other than latest",
        "tag other than latest",
    ),
    Invalid(
        "image-untagged",
        K,
        _set(f"{KT}.image", "ghcr.io/kdap/server"),
        "spec.target.kubernetes.image",
        "tag other than latest",
        "tag other than latest",
    ),
    Invalid(
        "image-pattern",
        K,
        _set(f"{KT}.image", "GHCR.io/Kdap/Server:1"),
        "spec.target.kubernetes.image",
        "should match",
        "image\n  String should match pattern",
    ),
    Invalid(
        "port-range",
        K,
        _set(f"{KT}.port", 70000),
        "spec.target.kubernetes.port",
        "less than or equal to 65535",
        "port\n  Input should be less than or equal to 65535",
    ),
    Invalid(
        "requests-over-limits",
        K,
        _set(f"{KT}.resources.requests.cpu", "2"),
        "spec.target.kubernetes.resources",
        "requests must not exceed resources.limits",
        "requests must not exceed resources.limits",
    ),
    Invalid(
        "resource-name",
        K,
        _set(f"{KT}.resources.limits.gpu", "1"),
        "spec.target.kubernetes.resources.limits",
        "keys must be among",
        "limits.gpu.[key]",
    ),
    Invalid(
        "env-two-sources",
        K,
        _set(f"{KT}.env.0.secretKeyRef", {"name": "s", "key": "k"}),
        "spec.target.kubernetes.env[0]",
        f"env[].value or env[].secretKeyRef {_NEEDS_ONE}",
        f"secretKeyRef {_NEEDS_ONE}",
    ),
    Invalid(
        "env-duplicate",
        K,
        _set(f"{KT}.env", [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
        "spec.target.kubernetes.env[1]",
        "Duplicate value",
        "env: duplicate name 'A'",
    ),
    Invalid(
        "unknown-field",
        K,
        _set(f"{KT}.replica", 3),
        "spec.target.kubernetes.replica",
        "unknown field",
        "replica\n  Extra inputs are not permitted",
    ),
    Invalid(
        "subscription-uuid",
        A,
        _set(f"{AT}.subscriptionId", "my-sub"),
        "spec.target.azureml.subscriptionId",
        "should match",
        "subscriptionId\n  String should match pattern",
    ),
    Invalid(
        # RE2 reads \w as ASCII: the apiserver refuses a non-ASCII letter, and so does the operator's twin.
        "resource-group-non-ascii",
        A,
        _set(f"{AT}.resourceGroup", "rg-zürich"),
        "spec.target.azureml.resourceGroup",
        "should match",
        "resourceGroup\n  String should match pattern",
    ),
    Invalid(
        "artifact-uri-space",
        K,
        _set("model.artifactUri", "https://acct.blob.core.windows.net/models/a b"),
        "spec.model.artifactUri",
        "should match",
        "artifactUri\n  String should match pattern",
    ),
    Invalid(
        "endpoint-name",
        A,
        _set(f"{AT}.endpointName", "1-bad-"),
        "spec.target.azureml.endpointName",
        "should match",
        "endpointName\n  String should match pattern",
    ),
    Invalid(
        "compute-required",
        A,
        _all(_AML_K8S, _set("strategy", K()["strategy"]), _set("analysis", K()["analysis"])),
        "spec.target.azureml.compute",
        "compute is required when endpointKind is kubernetes",
        "compute is required",
    ),
    Invalid(
        "aad-on-kubernetes",
        A,
        _all(
            _AML_K8S,
            _set(f"{AT}.compute", "aks-inference"),
            _set(f"{AT}.authMode", "aad_token"),
            _set("strategy", {"type": "blueGreen", "blueGreen": {"analysis": False}}),
        ),
        "spec.target.azureml.authMode",
        "aad_token needs endpointKind managed",
        "aad_token needs endpointKind managed",
    ),
    Invalid(
        "request-timeout",
        A,
        _set(f"{AT}.requestSettings", {"requestTimeoutMs": 200000}),
        "spec.target.azureml.requestSettings.requestTimeoutMs",
        "less than or equal to 180000",
        "requestTimeoutMs\n  Input should be less than or equal to 180000",
    ),
    Invalid(
        "liveness-success",
        A,
        _set(f"{AT}.livenessProbe", {"successThreshold": 2}),
        "spec.target.azureml.livenessProbe",
        "successThreshold must be 1",
        "successThreshold must be 1",
    ),
    # model
    Invalid(
        "model-semver",
        K,
        _set("model.version", "1.4"),
        "spec.model.version",
        "should match",
        "version\n  String should match pattern",
    ),
    Invalid(
        "model-two-sources",
        K,
        _set("model.registry", "azureml:budget-optimizer:3"),
        "spec.model",
        "exactly one of registry",
        "exactly one of registry",
    ),
    Invalid(
        "model-no-source",
        K,
        _set("model.artifactUri", None),
        "spec.model",
        "exactly one of registry",
        "exactly one of registry",
    ),
    Invalid(
        "model-registry-form",
        A,
        _set("model.registry", "mlflow:propensity"),
        "spec.model.registry",
        "should match",
        "registry\n  String should match pattern",
    ),
    Invalid(
        "model-framework",
        K,
        _set("model.framework", "keras"),
        "spec.model.framework",
        'Unsupported value: "keras"',
        "framework\n  Input should be",
    ),
    Invalid(
        "environment-both",
        A,
        _set("model.environment.image", "mcr.microsoft.com/azureml/xgb:1"),
        "spec.model.environment",
        "exactly one of image or azureml",
        "exactly one of image or azureml",
    ),
    Invalid(
        "azureml-needs-code",
        A,
        _set("model.code", None),
        "spec.model",
        "model.code and model.environment are required",
        "model.code and model.environment are required",
    ),
    Invalid(
        "kubernetes-azureml-env",
        K,
        _set("model.environment", {"azureml": "azureml:lgbm:1"}),
        "spec.model.environment",
        "cannot run on a kubernetes target",
        "cannot run on a kubernetes target",
    ),
    # strategy
    Invalid(
        "strategy-block-mismatch",
        K,
        _set("strategy.shadow", A()["strategy"]["shadow"]),
        "spec.strategy",
        "strategy.type names the one block",
        "strategy.type names the one block",
    ),
    Invalid(
        "strategy-type-enum",
        K,
        _set("strategy.type", "rolling"),
        "spec.strategy.type",
        'Unsupported value: "rolling"',
        "type\n  Input should be 'canary', 'shadow' or 'blueGreen'",
    ),
    Invalid(
        "steps-decrease",
        K,
        _set("strategy.canary.steps", [{"weight": 50}, {"weight": 10}, {"weight": 100}]),
        "spec.strategy.canary.steps",
        "must strictly increase and end at 100",
        "must strictly increase and end at 100",
    ),
    Invalid(
        "steps-not-100",
        K,
        _set("strategy.canary.steps", [{"weight": 10}, {"weight": 50}]),
        "spec.strategy.canary.steps",
        "must strictly increase and end at 100",
        "must strictly increase and end at 100",
    ),
    Invalid(
        "steps-repeat",
        K,
        _set("strategy.canary.steps", [{"weight": 10}, {"weight": 10}, {"weight": 100}]),
        "spec.strategy.canary.steps",
        "must strictly increase and end at 100",
        "must strictly increase and end at 100",
    ),
    Invalid(
        "steps-empty",
        K,
        _set("strategy.canary.steps", []),
        "spec.strategy.canary.steps",
        "should have at least 1 items",
        "steps\n  List should have at least 1 item",
    ),
    Invalid(
        "step-weight-zero",
        K,
        _set("strategy.canary.steps.0.weight", 0),
        "spec.strategy.canary.steps[0].weight",
        "greater than or equal to 1",
        "weight\n  Input should be greater than or equal to 1",
    ),
    Invalid(
        "pause-duration-form",
        K,
        _set("strategy.canary.steps.0.pause.duration", "10 minutes"),
        "spec.strategy.canary.steps[0].pause.duration",
        "should match",
        "duration\n  String should match pattern",
    ),
    Invalid(
        "pause-duration-zero",
        K,
        _set("strategy.canary.steps.0.pause.duration", "0s"),
        "spec.strategy.canary.steps[0].pause.duration",
        "longer than 0s",
        "longer than 0s",
    ),
    Invalid(
        "step-analysis-undefined",
        K,
        _set("analysis", None),
        "spec.analysis",
        "spec.analysis is missing",
        "spec.analysis is missing",
    ),
    Invalid(
        "mirror-over-50-azureml",
        A,
        _set("strategy.shadow.mirrorPercent", 60),
        "spec.strategy.shadow.mirrorPercent",
        "at most 50 on an azureml target",
        "at most 50 on an azureml target",
    ),
    Invalid(
        "shadow-on-aml-kubernetes",
        A,
        _all(_AML_K8S, _set(f"{AT}.compute", "aks-inference")),
        "spec.strategy.type",
        "shadow is not possible",
        "shadow is not possible",
    ),
    Invalid(
        "shadow-compares-nothing",
        A,
        _set("strategy.shadow.comparison", {}),
        "spec.strategy.shadow.comparison",
        "needs at least one of prediction, latency or errorRate",
        "needs at least one of prediction, latency or errorRate",
    ),
    Invalid(
        "shadow-too-short",
        A,
        _set("strategy.shadow.duration", "30s"),
        "spec.strategy.shadow.duration",
        "at least 1m",
        "at least 1m",
    ),
    Invalid(
        "shadow-promotion",
        A,
        _set("strategy.shadow.promotion", "yes"),
        "spec.strategy.shadow.promotion",
        'Unsupported value: "yes"',
        "promotion\n  Input should be 'auto' or 'manual'",
    ),
    Invalid(
        "blue-green-analysis-undefined",
        A,
        _set("strategy", {"type": "blueGreen", "blueGreen": {}}),
        "spec.analysis",
        "blueGreen.analysis is true but spec.analysis is missing",
        "blueGreen.analysis is true",
    ),
    # autoscaling
    Invalid(
        "replicas-inverted",
        K,
        _set("autoscaling.minReplicas", 8),
        "spec.autoscaling.minReplicas",
        "minReplicas must not exceed autoscaling.maxReplicas",
        "minReplicas must not exceed",
    ),
    Invalid(
        "cpu-target-range",
        K,
        _set("autoscaling.targetCPUUtilization", 120),
        "spec.autoscaling.targetCPUUtilization",
        "less than or equal to 100",
        "targetCPUUtilization\n  Input should be less than or equal to 100",
    ),
    Invalid(
        "schedule-cron",
        K,
        _set(
            "autoscaling.schedules",
            [{"name": "day", "cron": "every day", "duration": "8h", "minReplicas": 3}],
        ),
        "spec.autoscaling.schedules[0].cron",
        "should match",
        "cron\n  String should match pattern",
    ),
    Invalid(
        "schedule-over-max",
        K,
        _set(
            "autoscaling.schedules",
            [{"name": "day", "cron": "0 8 * * 1-5", "duration": "8h", "minReplicas": 9}],
        ),
        "spec.autoscaling.schedules",
        "schedules[].minReplicas must not exceed",
        "schedules[].minReplicas must not exceed",
    ),
    # analysis
    Invalid(
        "metric-two-sources",
        K,
        _set("analysis.metrics.0.query", "sum(rate(x[1m]))"),
        "spec.analysis.metrics[0]",
        f"analysis.metrics[].query {_NEEDS_ONE}",
        f"query {_NEEDS_ONE}",
    ),
    Invalid(
        "metric-no-threshold",
        K,
        _set("analysis.metrics.0.max", None),
        "spec.analysis.metrics[0]",
        "needs min, max or compare (or several)",
        "needs min, max or compare (or several)",
    ),
    Invalid(
        "compare-request-rate",
        K,
        _all(
            _set("analysis.metrics.0.builtin", "requestRate"),
            _set("analysis.metrics.0.compare", {"margin": 0.001}),
        ),
        "spec.analysis.metrics[0]",
        "compare needs builtin errorRate or a latency built-in on prometheus, or builtin errorRate on",
        "compare needs builtin errorRate or a latency built-in on prometheus, or builtin errorRate on",
    ),
    Invalid(
        "compare-latency-on-azure-monitor",
        K,
        _all(
            _set("analysis.metrics.0.provider", "azureMonitor"),
            _set("analysis.metrics.0.builtin", "latencyP99"),
            _set("analysis.metrics.0.compare", {"margin": 0.001}),
        ),
        "spec.analysis.metrics[0]",
        "Azure Monitor keeps no latency histogram",
        "Azure Monitor keeps no latency histogram",
    ),
    Invalid(
        "compare-test-mismatch",
        K,
        _set("analysis.metrics.0.compare", {"test": "mannWhitney"}),
        "spec.analysis.metrics[0]",
        "compare.test must suit the metric: proportion for errorRate",
        "compare.test must suit the metric: proportion for errorRate",
    ),
    Invalid(
        "compare-alpha",
        K,
        _set("analysis.metrics.0.compare", {"alpha": 0.5}),
        "spec.analysis.metrics[0].compare.alpha",
        "less than or equal to 0.2",
        "less than or equal to 0.2",
    ),
    Invalid(
        "metric-min-over-max",
        K,
        _set("analysis.metrics.0.min", 0.5),
        "spec.analysis.metrics[0]",
        "min must not exceed max",
        "min must not exceed max",
    ),
    Invalid(
        "error-rate-fraction",
        K,
        _set("analysis.metrics.0.max", 5),
        "spec.analysis.metrics[0]",
        "errorRate thresholds are fractions",
        "errorRate thresholds are fractions",
    ),
    Invalid(
        "metric-provider",
        K,
        _set("analysis.metrics.0.provider", "datadog"),
        "spec.analysis.metrics[0].provider",
        'Unsupported value: "datadog"',
        "provider\n  Input should be 'azureMonitor', 'prometheus' or 'logAnalytics'",
    ),
    Invalid(
        "azure-monitor-builtin-on-k8s",
        K,
        _set("analysis.metrics.0.provider", "azureMonitor"),
        "spec.analysis.metrics",
        "use provider prometheus on a kubernetes target",
        "use provider prometheus",
    ),
    Invalid(
        "log-analytics-on-k8s",
        K,
        _set("analysis.metrics.0", {"name": "e", "provider": "logAnalytics", "query": "T | count", "max": 1}),
        "spec.analysis.metrics",
        "with provider logAnalytics query the target's Log Analytics workspace: a kubernetes target has none",
        "with provider logAnalytics query the target's Log Analytics workspace: a kubernetes target has none",
    ),
    Invalid(
        "categorical-ks",
        K,
        _set("analysis.drift.categorical.0.test", "ks"),
        "spec.analysis.drift.categorical[0].test",
        'Unsupported value: "ks"',
        "test\n  Input should be 'chiSquared', 'psi' or 'jensenShannon'",
    ),
    Invalid(
        "ks-threshold",
        K,
        _set("analysis.drift.numerical.0", {"name": "spend", "test": "ks", "threshold": 1.5}),
        "spec.analysis.drift.numerical[0].threshold",
        "p-value below 1",
        "p-value below 1",
    ),
    Invalid(
        "threshold-without-test",
        K,
        _set("analysis.drift.numerical.0", {"name": "spend", "threshold": 0.05}),
        "spec.analysis.drift.numerical[0].threshold",
        "threshold needs test",
        "threshold needs test",
    ),
    Invalid(
        "drift-no-features",
        K,
        _all(_set("analysis.drift.numerical", []), _set("analysis.drift.categorical", [])),
        "spec.analysis.drift",
        "needs at least one numerical or categorical feature",
        "needs at least one numerical",
    ),
    Invalid(
        "feature-both-types",
        K,
        _set("analysis.drift.categorical.0.name", "spend"),
        "spec.analysis.drift",
        "not both",
        "not both",
    ),
    Invalid(
        "drifted-share",
        K,
        _set("analysis.drift.driftedShareThreshold", 0),
        "spec.analysis.drift.driftedShareThreshold",
        "greater than 0",
        "driftedShareThreshold\n  Input should be greater than 0",
    ),
    Invalid(
        "min-sample-size",
        K,
        _set("analysis.drift.minSampleSize", 5),
        "spec.analysis.drift.minSampleSize",
        "greater than or equal to 30",
        "minSampleSize\n  Input should be greater than or equal to 30",
    ),
    Invalid(
        "analysis-empty",
        K,
        _all(_set("analysis.metrics", []), _set("analysis.drift", None)),
        "spec.analysis",
        "analysis needs at least one of metrics or drift",
        "analysis needs at least one of metrics or drift",
    ),
    Invalid(
        "prediction-test-type",
        K,
        _set("analysis.drift.prediction", {"type": "categorical", "test": "wasserstein"}),
        "spec.analysis.drift.prediction.test",
        "must suit its type",
        "must suit its type",
    ),
    # rollback
    Invalid(
        "retrain-needs-drift",
        A,
        _set("rollback.retrain", {"type": "event", "event": {"url": "https://hooks.example.com/retrain"}}),
        "spec.rollback.retrain",
        "analysis.drift must be set",
        "analysis.drift must be set",
    ),
    Invalid(
        "retrain-block-mismatch",
        K,
        _set(
            "rollback.retrain",
            {"type": "event", "azuremlPipeline": {"component": "azureml:retrain:1", "experimentName": "x"}},
        ),
        "spec.rollback.retrain",
        "rollback.retrain.type names the one block",
        "rollback.retrain.type names the one block",
    ),
    Invalid(
        "retrain-url-https",
        K,
        _set("rollback.retrain", {"type": "event", "event": {"url": "http://hooks.example.com"}}),
        "spec.rollback.retrain.event.url",
        "should match",
        "url\n  String should match pattern",
    ),
    Invalid(
        "failure-limit-negative",
        K,
        _set("rollback.failureLimit", -1),
        "spec.rollback.failureLimit",
        "greater than or equal to 0",
        "failureLimit\n  Input should be greater than or equal to 0",
    ),
    # notifications
    Invalid(
        "notification-template-code",
        K,
        _set(
            "notifications",
            [
                {
                    "triggers": ["Promoted"],
                    "to": {"kind": "slack", "secretRef": {"name": "hooks"}},
                    "template": "{{x.y}}",
                }
            ],
        ),
        "spec.notifications[0]",
        "notifications[].template may use only {{field}} placeholders",
        "notifications[].template may use only {{field}} placeholders",
    ),
    Invalid(
        "notification-trigger-enum",
        K,
        _set(
            "notifications",
            [{"triggers": ["Exploded"], "to": {"kind": "slack", "secretRef": {"name": "hooks"}}}],
        ),
        "spec.notifications[0].triggers[0]",
        "Unsupported value",
        "Input should be 'Started'",
    ),
    Invalid(
        "notification-secret-in-spec",
        K,
        _set(
            "notifications",
            [{"triggers": ["Promoted"], "to": {"kind": "slack", "url": "https://hooks.slack.com/x"}}],
        ),
        "spec.notifications[0].to",
        'unknown field "spec.notifications[0].to.url"',
        "secretRef\n  Field required",
    ),
    # registry stages
    Invalid(
        "tag-stages-needs-registry",
        A,
        _all(
            _set("model.registry", None),
            _set("model.artifactUri", "https://m.example.com/p/7/model.json"),
            _set("model.tagStages", True),
        ),
        "spec.model.tagStages",
        "model.tagStages needs model.registry or model.registration (a registered version to tag)",
        "model.tagStages needs model.registry or model.registration (a registered version to tag)",
    ),
    Invalid(
        "tag-stages-needs-azureml",
        K,
        _all(
            _set("model.artifactUri", None),
            _set("model.registry", "azureml:budget-optimizer:4"),
            _set("model.tagStages", True),
        ),
        "spec.model.tagStages",
        "model.tagStages needs an azureml or serverless target",
        "model.tagStages needs an azureml or serverless target",
    ),
    Invalid(
        "registration-needs-artifact",
        A,
        _set("model.registration", {"description": "d", "trainingData": "azureml:train:1"}),
        "spec.model.registration",
        "model.registration needs model.artifactUri (the artifact to register)",
        "model.registration needs model.artifactUri (the artifact to register)",
    ),
    Invalid(
        "registration-needs-azureml",
        K,
        _set("model.registration", {"description": "d", "trainingData": "azureml:train:1"}),
        "spec.model.registration",
        "model.registration needs an azureml target",
        "model.registration needs an azureml target",
    ),
    # validation before traffic
    Invalid(
        "validation-empty",
        K,
        _set("validation", {"timeout": "10s"}),
        "spec.validation",
        "validation needs healthPath, requests, requestsUri or evaluation",
        "validation needs healthPath, requests, requestsUri or evaluation",
    ),
    Invalid(
        "evaluation-gate-unbounded",
        K,
        _set(
            "validation",
            {
                "evaluation": {
                    "dataUri": "https://a.blob.core.windows.net/c/g.csv",
                    "label": "y",
                    "gates": [{"metric": "rmse"}],
                }
            },
        ),
        "spec.validation.evaluation.gates[0]",
        "validation.evaluation.gates[] needs min, max or maxRegression",
        "validation.evaluation.gates[] needs min, max or maxRegression",
    ),
    Invalid(
        "evaluation-label-as-feature",
        K,
        _set(
            "validation",
            {
                "evaluation": {
                    "dataUri": "https://a.blob.core.windows.net/c/g.csv",
                    "label": "y",
                    "features": ["x", "y"],
                    "gates": [{"metric": "auc", "min": 0.7}],
                }
            },
        ),
        "spec.validation.evaluation.features",
        "validation.evaluation.features must not include the label column",
        "validation.evaluation.features must not include the label column",
    ),
    Invalid(
        "validation-tolerance-without-value",
        K,
        _set(
            "validation",
            {"requests": [{"name": "s", "body": "{}", "expect": [{"path": "$.p", "tolerance": 0.1}]}]},
        ),
        "spec.validation.requests[0].expect[0].tolerance",
        "tolerance needs value (the golden number it is a tolerance around)",
        "tolerance needs value (the golden number it is a tolerance around)",
    ),
    Invalid(
        "validation-value-not-number-type",
        K,
        _set(
            "validation",
            {
                "requests": [
                    {"name": "s", "body": "{}", "expect": [{"path": "$.p", "type": "string", "value": 1}]}
                ]
            },
        ),
        "spec.validation.requests[0].expect[0].type",
        "type must be number or integer when both are set",
        "type must be number or integer when both are set",
    ),
    Invalid(
        "validation-path-form",
        K,
        _set(
            "validation", {"requests": [{"name": "s", "body": "{}", "expect": [{"path": "predictions[0]"}]}]}
        ),
        "spec.validation.requests[0].expect[0].path",
        "should match",
        "path\n  String should match pattern",
    ),
    Invalid(
        "validation-timeout-bounds",
        K,
        _set("validation", {"healthPath": "/healthz", "timeout": "10m"}),
        "spec.validation.timeout",
        "validation.timeout must be at least 1s and at most 5m",
        "validation.timeout must be at least 1s and at most 5m",
    ),
    # serverless (adapters behind the gateway)
    Invalid(
        "serverless-block-missing",
        S,
        _set(ST, None),
        "spec.target",
        "target.serverless for serverless",
        "target.serverless for serverless",
    ),
    Invalid(
        "serverless-and-azureml-blocks",
        S,
        _set(AT, A()["target"]["azureml"]),
        "spec.target",
        "target.type names the one block",
        "target.type names the one block",
    ),
    Invalid(
        "serverless-adapter-pattern",
        S,
        _set(f"{ST}.adapter", "Coding_v2"),
        "spec.target.serverless.adapter",
        "should match",
        "adapter\n  String should match pattern",
    ),
    Invalid(
        "serverless-gateway-service-pattern",
        S,
        _set(f"{ST}.gateway.service", "1apim"),
        "spec.target.serverless.gateway.service",
        "should match",
        "service\n  String should match pattern",
    ),
    Invalid(
        "serverless-needs-registry",
        S,
        _all(
            _set("model.registry", None),
            _set("model.artifactUri", "https://kdapmodels.blob.core.windows.net/m/a"),
        ),
        "spec.model.registry",
        "model.registry is required on a serverless target",
        "model.registry is required on a serverless target",
    ),
    Invalid(
        "serverless-no-autoscaling",
        S,
        _set("autoscaling", {"minReplicas": 1, "maxReplicas": 2}),
        "spec.target.serverless",
        "do not apply to a serverless target",
        "do not apply to a serverless target",
    ),
    Invalid(
        "serverless-no-validation",
        S,
        _set("validation", {"healthPath": "/healthz"}),
        "spec.target.serverless",
        "do not apply to a serverless target",
        "do not apply to a serverless target",
    ),
    Invalid(
        "serverless-metrics-are-queries",
        S,
        _set(
            "analysis.metrics", [{"name": "e", "provider": "prometheus", "builtin": "errorRate", "max": 0.1}]
        ),
        "spec.analysis.metrics",
        "need provider prometheus or logAnalytics and a query",
        "need provider prometheus or logAnalytics and a query",
    ),
    Invalid(
        "serverless-metrics-not-azure-monitor",
        S,
        _set("analysis.metrics", [{"name": "e", "provider": "azureMonitor", "query": "Requests", "max": 1}]),
        "spec.analysis.metrics",
        "need provider prometheus or logAnalytics and a query",
        "need provider prometheus or logAnalytics and a query",
    ),
    Invalid(
        "log-analytics-needs-a-query",
        A,
        _set(
            "analysis.metrics", [{"name": "e", "provider": "logAnalytics", "builtin": "errorRate", "max": 1}]
        ),
        "spec.analysis.metrics[0]",
        "with provider logAnalytics need a query (KQL or a named LLM query), not a builtin",
        "with provider logAnalytics need a query (KQL or a named LLM query), not a builtin",
    ),
    Invalid(
        "serverless-no-shadow",
        S,
        _set(
            "strategy",
            {
                "type": "shadow",
                "shadow": {"mirrorPercent": 20, "duration": "1h", "comparison": {"latency": {}}},
            },
        ),
        "spec.strategy.type",
        "strategy.type shadow is not available on a serverless target",
        "strategy.type shadow is not available on a serverless target",
    ),
]
