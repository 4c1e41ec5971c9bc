"""Rendering the kustomize tree with the real `kubectl kustomize`."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from tests.conftest import ROOT

KUSTOMIZE = ROOT / "deploy" / "kustomize"


def render(target: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(KUSTOMIZE / target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, f"kubectl kustomize {target} failed: {out.stderr}"
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]
