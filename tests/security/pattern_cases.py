"""A valid object holding each pattern field of the generated CRDs, and strings to put there.

``tests/api/test_pattern_agreement.py`` judges each pattern on its own (a probe CRD, the field's pydantic-core
validator). ``tests/security/test_patterns_cluster.py`` puts the same kind of strings (from the pattern via
hypothesis ``from_regex``, and near-misses) into whole objects of the real CRDs, so the apiserver's verdict
includes the CEL rules and bounds around the field, and the operator's is the whole model's, with its
after-validators (a cron parsed, a time zone looked up) and the messages they give.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.api.batch_cases import batch_kubernetes
from tests.api.mdep_cases import Manifest, azureml_shadow, kubernetes_canary, serverless_canary
from tests.api.pattern_fields import ODD, PatternField
from tests.security.policy_cases import FULL, GRANT

ROOT = Path(__file__).resolve().parents[2]


def steps(field: PatternField) -> tuple[str, tuple[str, ...]]:
    """(kind, path steps) of ``Kind.spec.a[].b``: ("spec", "a", "[]", "b"), "[]" a list item."""
    kind, rest = field.path.split(".", 1)
    return kind, tuple(re.findall(r"[^.\[\]{}]+|\[\]|\{\}", rest))


def _examples(kind: str) -> list[Manifest]:
    docs = [d for f in sorted((ROOT / "examples").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    return [{"spec": d["spec"]} for d in docs if d and d["kind"] == kind]


def _extras() -> list[Manifest]:
    """What no example holds: probes on Kubernetes, an evaluation, a registration."""
    probed = kubernetes_canary()
    probed["target"]["kubernetes"]["livenessProbe"] = {"path": "/healthz"}
    probed["validation"] = {
        "evaluation": {
            "dataUri": "https://acct1.blob.core.windows.net/c/g.csv",
            "label": "y",
            "path": "/score",
            "predictionsPath": "$.predictions",
            "gates": [{"metric": "rmse", "max": 1}],
        }
    }
    registered = azureml_shadow()
    registered["model"].pop("registry")
    registered["model"]["artifactUri"] = "https://acct1.blob.core.windows.net/models/m/model.pkl"
    registered["model"]["registration"] = {
        "description": "d",
        "trainingData": "azureml:train:1",
        "metrics": [{"name": "rmse", "value": 0.1}],
        "features": [{"name": "spend", "type": "number"}],
        "registry": "shared",
    }
    return [{"spec": probed}, {"spec": registered}]


@functools.cache
def bases(kind: str) -> list[Manifest]:
    """Valid objects (without metadata) of ``kind``; between them they hold every pattern field (read once:
    ``with_value`` copies the one it changes)."""
    if kind == "ModelDeploymentPolicy":
        return [*_examples(kind), {"spec": copy.deepcopy(GRANT) | {"localPaths": ["/data/team-a"]}}]
    built = (kubernetes_canary, azureml_shadow, serverless_canary, batch_kubernetes)
    return [
        *_examples(kind),
        *({"spec": b()} for b in built),
        {"spec": copy.deepcopy(FULL)},
        *_extras(),
    ]


def _parent(node: Any, path: tuple[str, ...]) -> Any:
    """The object or list that holds ``path``'s last step in ``node``; None when ``node`` has none."""
    if len(path) == 1:
        return node
    head, rest = path[0], path[1:]
    if head == "[]":
        items = node if isinstance(node, list) else []
        found = (_parent(item, rest) for item in items)
        return next((f for f in found if f is not None), None)
    if not isinstance(node, dict) or head not in node:
        return None
    return _parent(node[head], rest)


def with_value(field: PatternField, value: str) -> Manifest:
    """The first base that holds ``field``'s parent, with ``value`` in the field (a list's first item)."""
    kind, path = steps(field)
    for base in bases(kind):
        held = _parent(base, path)
        if held is None or (path[-1] == "[]" and not held):
            continue
        body = copy.deepcopy(base)
        parent = _parent(body, path)
        if path[-1] == "[]":
            parent[0] = value
        else:
            parent[path[-1]] = value
        return body
    raise LookupError(f"no base manifest holds {field.path}")


def _near_miss(value: str, at: int, how: int, char: str) -> str:
    at = at % (len(value) + 1)
    match how:
        case 0:
            return value[:at] + char + value[at:]
        case 1:
            return value[:at] + value[at + 1 :]
        case 2:
            return value[:at] + char + value[at + 1 :]
        case 3:
            return value + "\n"
        case 4:
            return value.swapcase()
        case _:
            return char + value


def candidates(field: PatternField) -> st.SearchStrategy[str]:
    """Strings for ``field``: from its pattern, one edit away from it, or short arbitrary text."""
    matching = st.from_regex(field.pattern, fullmatch=True)
    near = st.builds(_near_miss, matching, st.integers(0, 300), st.integers(0, 5), st.sampled_from(ODD))
    anything = st.text(st.sampled_from(ODD) | st.characters(codec="utf-8"), max_size=8)
    return st.one_of(matching, near, anything).filter(_sendable)


def _sendable(value: str) -> bool:
    """JSON over HTTP carries it unchanged (no lone surrogates) and it stays a small request."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return len(value) <= 4096
