"""What the API models cost the controller in memory, and why their patterns are spelled in ASCII.

pydantic compiles every ``pattern`` with Rust's regex crate, where ``\\w`` and ``\\d`` are Unicode classes;
the apiserver evaluates the same pattern with RE2, where they are ASCII. A Unicode ``\\w`` repeated 89 times
(a resource group) compiled to about 9 MB per field, so four such fields were a third of the operator's idle
memory, and the Python twin accepted names the apiserver refused.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from pydantic import StringConstraints, TypeAdapter, ValidationError

from modeldeploy.api import patterns

ROOT = Path(__file__).resolve().parents[2]
UNICODE_CLASSES = re.compile(r"(?<!\\)\\[wWdDsS]")


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


def test_crd_patterns_mean_the_same_in_re2_and_rust() -> None:
    patterns = [
        p
        for crd in sorted((ROOT / "crds").glob("*.yaml"))
        for p in _patterns(yaml.safe_load(crd.read_text()))
    ]
    assert len(patterns) > 20
    unicode_dependent = sorted({p for p in patterns if UNICODE_CLASSES.search(p)})
    assert unicode_dependent == []


def test_resource_group_refuses_what_the_apiserver_refuses() -> None:
    rg = TypeAdapter(Annotated[str, StringConstraints(pattern=patterns.RESOURCE_GROUP)])
    assert rg.validate_python("rg-kdap_prod.(eu)") == "rg-kdap_prod.(eu)"
    with pytest.raises(ValidationError, match="String should match pattern"):
        rg.validate_python("rg-zürich")  # RE2's \w is ASCII: the apiserver refuses this name
    with pytest.raises(ValidationError, match="String should match pattern"):
        rg.validate_python("rg-ends-with.")


PROBE = """
import glob, yaml
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
import kopf, kubernetes
base = rss()
import modeldeploy.controller.main
from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import ModelDeploymentSpec
for path in sorted(glob.glob('examples/*.yaml')):
    for doc in yaml.safe_load_all(open(path)):
        if doc and doc.get('kind') == 'ModelDeployment':
            ModelDeploymentSpec.model_validate(doc['spec'])
        if doc and doc.get('kind') == 'ModelDeploymentPolicy':
            ModelDeploymentPolicySpec.model_validate(doc['spec'])
print(rss() - base)
"""


def test_controller_models_cost_little_memory() -> None:
    """Importing the controller and validating every example (all API sections and a policy) stays within a
    budget above the frameworks it stands on (kopf and the Kubernetes client). Measured: 10 MB; 33 MB with the
    Unicode patterns."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    grown_mb = float(out.stdout.strip().splitlines()[-1])
    assert grown_mb < 20.0, f"controller import + validation grew RSS by {grown_mb:.1f} MB"


def test_non_space_means_what_re2_means() -> None:
    """RE2's \\S is everything but ASCII whitespace: a no-break space inside a URI is admitted by the
    apiserver, so the operator admits it too (Rust's Unicode \\S would have refused it); a space is
    refused."""
    uri = TypeAdapter(Annotated[str, StringConstraints(pattern=patterns.DATA_URI)])
    assert uri.validate_python("https://acct.blob.core.windows.net/c/a\u00a0b.csv")
    with pytest.raises(ValidationError, match="String should match pattern"):
        uri.validate_python("https://acct.blob.core.windows.net/c/a b.csv")
    with pytest.raises(ValidationError, match="String should match pattern"):
        uri.validate_python("https://acct.blob.core.windows.net/c/a\tb.csv")
