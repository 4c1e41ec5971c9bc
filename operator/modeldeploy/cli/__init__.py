"""``kubectl mdep``: list, watch and steer ModelDeployments (installed as ``kubectl-mdep``, a kubectl plugin).

Manual actions go through ``status.request`` (see ``kube.send_request``) and wait, bounded, until the operator
records the outcome. Exit codes: 0 done, 1 error, 2 not possible in this state, 3 not handled in time,
4 rejected by the operator.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from modeldeploy.cli import batch, kube, render
from modeldeploy.cli.checks import check_action
from modeldeploy.cli.errors import CliError

TERMINAL = ("Promoted", "RolledBack", "Degraded", "Failed")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's)")
    common.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    common.add_argument("--context", help="kubeconfig context")
    p = argparse.ArgumentParser(prog="kubectl mdep", description="Steer ModelDeployment rollouts.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = sub.add_parser("list", parents=[common], help="list ModelDeployments")
    ls.add_argument("-A", "--all-namespaces", action="store_true")
    ls.add_argument("-o", "--output", choices=("table", "json"), default="table")

    st = sub.add_parser(
        "status", parents=[common], help="steps, weights, mirror, analysis, drift per feature"
    )
    st.add_argument("name")
    st.add_argument("-w", "--watch", action="store_true", help="refresh until the rollout settles (Ctrl-C)")
    st.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes with --watch")
    st.add_argument("-o", "--output", choices=("text", "json"), default="text")

    for action, text in (
        ("promote", "end the current step (or gate) and go on; --full: the candidate takes 100% now"),
        ("abort", "send all traffic back to stable and mark the candidate aborted"),
        ("pause", "hold the current step (analysis still rolls back)"),
        ("resume", "release a manual pause"),
        ("retry", "roll out again a spec that was rolled back, aborted or failed"),
    ):
        a = sub.add_parser(action, parents=[common], help=text)
        a.add_argument("name")
        if action == "promote":
            a.add_argument("--full", action="store_true", help="skip the remaining steps")
        a.add_argument("--no-wait", action="store_true", help="write the request and return")
        a.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the operator")

    run = sub.add_parser("run", parents=[common], help="one batch run of the default revision now")
    run.add_argument("name")
    run.add_argument("--input", help="a data URI to score (default: spec.batch.input)")
    run.add_argument("--no-wait", action="store_true", help="write the request and return")
    run.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the operator")

    h = sub.add_parser("history", parents=[common], help="phase transitions, newest last")
    h.add_argument("name")

    r = sub.add_parser(
        "report", parents=[common], help="an HTML report: timeline, analysis, drift plots and cost"
    )
    r.add_argument("name", nargs="+")
    r.add_argument("-o", "--output", default="mdep-report.html", help="the HTML file to write")
    r.add_argument("--no-cost", action="store_true", help="leave out the cost section (no Azure queries)")

    c = sub.add_parser("cost", parents=[common], help="month-to-date cost per revision and the forecast")
    c.add_argument("name")
    c.add_argument("-o", "--output", choices=("text", "json"), default="text")
    return p


def _list(cluster: kube.Cluster, args: argparse.Namespace) -> int:
    items = kube.list_all(cluster, args.all_namespaces)
    if args.output == "json":
        print(json.dumps(items, indent=2))
    else:
        print(render.list_view(items, render.now_utc(), args.all_namespaces))
    return 0


def _status(
    cluster: kube.Cluster, args: argparse.Namespace, sleep: Callable[[float], None] = time.sleep
) -> int:
    clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
    while True:
        body = kube.get(cluster, args.name)
        if args.output == "json":
            print(json.dumps(body.get("status") or {}, indent=2))
        else:
            print(clear + render.status_view(body, render.now_utc()), flush=True)
        phase = (body.get("status") or {}).get("phase")
        if not args.watch or (phase in TERMINAL and not (body.get("status") or {}).get("candidate")):
            return 0
        sleep(args.interval)
        if not clear:
            print("---")


def _action(cluster: kube.Cluster, args: argparse.Namespace) -> int:
    action = "promote-full" if args.command == "promote" and args.full else args.command
    request_id, _ = kube.send_request(cluster, args.name, action, lambda b: check_action(action, b))
    print(f"{action} requested for {cluster.namespace}/{args.name} (request {request_id})")
    if args.no_wait:
        return 0
    body = kube.wait_handled(cluster, args.name, request_id, args.timeout)
    st = body.get("status") or {}
    result = st.get("lastHandledRequestResult") or "handled"
    print(f"{result}; phase {st.get('phase', 'Unknown')}")
    return 4 if "rejected" in result else 0


def _history(cluster: kube.Cluster, args: argparse.Namespace) -> int:
    print(render.history_view(kube.get(cluster, args.name), render.now_utc()))
    return 0


def _cost(cluster: kube.Cluster, args: argparse.Namespace) -> int:
    from modeldeploy.cli import cost, recommend  # the Azure SDKs load only for this command

    body = kube.get(cluster, args.name)
    now = render.now_utc()
    report = cost.cost_of(body, cost.default_client, now)  # the factory looked up now, so tests can swap it
    recs, advice = recommend.advise(body, report, now)
    if args.output == "json":
        fields = {"deployment": report.deployment, "scope": report.scope, "currency": report.currency}
        totals = {"monthToDate": report.month_to_date, "forecast": report.forecast}
        advised = [{"revision": r.revision, "kind": r.kind, "message": r.message} for r in recs]
        print(
            json.dumps(
                fields | totals | {"byRevision": report.by_revision, "recommendations": advised}, indent=2
            )
        )
    else:
        print(cost.render_cost(report))
        print(advice)
    return 0


def _report(cluster: kube.Cluster, args: argparse.Namespace) -> int:
    from modeldeploy.report import write_report

    bodies = [kube.get(cluster, n) for n in args.name]
    evs = {b["metadata"]["name"]: kube.events(cluster, b) for b in bodies}
    costs = None
    if not args.no_cost:
        from modeldeploy.cli.report_cost import findings  # the Azure SDKs load only when cost is wanted

        costs = {b["metadata"]["name"]: findings(b, render.now_utc()) for b in bodies}
    out = write_report(bodies, Path(args.output), events=evs, costs=costs)
    print(f"wrote {out}")
    return 0


COMMANDS: dict[str, Callable[[kube.Cluster, argparse.Namespace], int]] = {
    "list": _list,
    "status": _status,
    "promote": _action,
    "abort": _action,
    "pause": _action,
    "resume": _action,
    "retry": _action,
    "run": batch.run,
    "history": _history,
    "report": _report,
    "cost": _cost,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cluster = kube.connect(args.kubeconfig, args.context, args.namespace)
        return COMMANDS[args.command](cluster, args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        return 130


__all__ = ["CliError", "main"]
