"""The operator process: kopf with our handlers, peering on by default (two replicas never both act)."""

from __future__ import annotations

import argparse
import asyncio
import logging

import kopf

from modeldeploy.controller import handlers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="modeldeploy operator")
    parser.add_argument("--namespace", "-n", action="append", default=[], help="watch only these namespaces")
    parser.add_argument("--standalone", action="store_true", help="no peering (a single replica, tests)")
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz", help="liveness endpoint URL")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    assert handlers.rollout  # registered on import
    asyncio.run(
        kopf.operator(
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            standalone=args.standalone,
            liveness_endpoint=args.liveness or None,
        )
    )
    return 0
