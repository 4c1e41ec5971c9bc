"""The layout is a rule, not a habit: package dependencies (pyproject's [tool.importlinter] contracts), module
sizes, and a controller that starts without the heavy libraries it may never need."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

MAX_LINES = 420  # "about 400": a module past this is doing more than one thing


def test_every_dependency_contract_is_kept() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    kept = re.search(r"Contracts: (\d+) kept, (\d+) broken", done.stdout)
    assert kept, done.stdout
    assert (int(kept[1]), int(kept[2])) == (3, 0)


def test_no_source_module_is_over_about_400_lines() -> None:
    roots = ["operator/modeldeploy", "hack/cluster/localkube", "hack/demo/kdap_demo", "infra", "policies"]
    big = {
        str(p.relative_to(ROOT)): n
        for r in roots
        for p in (ROOT / r).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert big == {}


def test_the_operator_starts_without_numerics_or_azure_sdks() -> None:
    # With Kubernetes targets and metric checks only, the controller never needs the drift engine or Azure:
    # they are about 170 MB of the process when loaded (measured: 254 MB -> 81 MB at import).
    code = (
        "import json, sys; import modeldeploy.controller.handlers, modeldeploy.controller.main; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert loaded & {"numpy", "scipy", "pyarrow", "pandas"} == set()
    assert not any(m.startswith("azure") for m in loaded), sorted(m for m in loaded if m.startswith("azure"))
