"""``kubectl mdep run NAME [--input URI]``: one run of a batch model's default revision, now.

Like ``promote``, the request is status (``status.batch.runRequest``), never the spec: Argo CD and Flux own
the spec, so a run request neither makes the application OutOfSync nor gets reverted. The operator handles
each request id once and records ``lastHandledRunId`` and ``lastHandledRunResult``; ``--input`` is checked
against the namespace's ModelDeploymentPolicy like a spec URI.
"""

from __future__ import annotations

import argparse

from modeldeploy.cli import kube
from modeldeploy.cli.errors import CliError


def _is_batch(body: kube.Body) -> None:
    if not (body.get("spec") or {}).get("batch"):
        name = body["metadata"]["name"]
        raise CliError(f"{name} is an online model (no spec.batch): run starts batch scoring only", code=2)


def run(cluster: kube.Cluster, args: argparse.Namespace) -> int:
    def status(request_id: str, at: str) -> kube.Body:
        request = {"id": request_id, "requestedAt": at} | ({"input": args.input} if args.input else {})
        return {"batch": {"runRequest": request}}

    request_id, _ = kube.send_request(cluster, args.name, "run", _is_batch, status)
    print(f"run requested for {cluster.namespace}/{args.name} (request {request_id})")
    if args.no_wait:
        return 0
    body = kube.wait_handled(
        cluster,
        args.name,
        request_id,
        args.timeout,
        handled=lambda st: (st.get("batch") or {}).get("lastHandledRunId"),
    )
    result = ((body.get("status") or {}).get("batch") or {}).get("lastHandledRunResult") or "handled"
    print(result)
    return 4 if result.startswith("refused") else 0


def status_lines(body: kube.Body) -> list[str]:
    """``kubectl mdep status`` of a batch model: the last comparison and the runs, newest first."""
    batch = (body.get("status") or {}).get("batch") or {}
    lines: list[str] = []
    cmp = batch.get("comparison")
    if cmp:
        rows = f"rows {cmp.get('stableRows', '?')} -> {cmp.get('candidateRows', '?')}"
        lines.append(
            f"{'Compared:':<11} {cmp.get('candidate')} vs {cmp.get('stable')}: {cmp.get('verdict')} ({rows})"
        )
        if cmp.get("message"):
            lines.append(f"  {cmp['message']}")
    if batch.get("watermark"):
        lines.append(f"{'Watermark:':<11} {batch['watermark']}")
    runs = batch.get("runs") or []
    lines.append("Runs:" if runs else f"{'Runs:':<11} none")
    for r in sorted(runs, key=lambda r: str(r.get("createdAt", "")), reverse=True):
        lines.append(f"  {r.get('name', '?'):<34} {r.get('phase', '?'):<10} {r.get('trigger', '')}")
    return lines
