"""`python -m kdap_policies <stack>`: the pack over the infra program under Pulumi mocks; no CLI, no Azure.

Uses `policies/config/<stack>.json` when present (as `pulumi preview --policy-pack-config` would) and exits
non-zero on any mandatory violation, so CI can gate on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from kdap_policies.evaluate import Declared, Violation, evaluate

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def stack_config(stack: str) -> dict[str, Any]:
    path = CONFIG_DIR / f"{stack}.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def program_resources(stack: str) -> list[Declared]:
    """What the infra program registers for Pulumi.<stack>.yaml, as the pack sees it."""
    from kdap_infra.testing import run_program  # the infra package is only needed for this entry point

    return [Declared(r.type, r.name, r.inputs, r.urn, r.parent) for r in run_program(stack)]


def check_stack(stack: str, config: dict[str, Any] | None = None) -> list[Violation]:
    return evaluate(program_resources(stack), stack_config(stack) if config is None else config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdap_policies", description=__doc__)
    parser.add_argument(
        "stack", help="stack name: reads Pulumi.<stack>.yaml and policies/config/<stack>.json"
    )
    parser.add_argument("--config", type=Path, help="policy-pack config file instead of the stack's own")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text()) if args.config else None
    violations = check_stack(args.stack, config)
    for v in violations:
        print(f"[{v.level.value}] {v.policy}: {v.message}")
    mandatory = sum(v.level is EnforcementLevel.MANDATORY for v in violations)
    print(f"{args.stack}: {len(violations)} violation(s), {mandatory} mandatory", file=sys.stderr)
    return 1 if mandatory else 0
