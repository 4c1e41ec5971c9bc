"""The operator process: kopf with our handlers, peering on by default (two replicas never both act),
Prometheus metrics and JSON logs carrying each resource's namespace, name and revision."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging

import kopf

from modeldeploy.caps import MAX_DATA_TOTAL
from modeldeploy.controller.handover import DEFAULT_SETTLE_SECONDS
from modeldeploy.controller.platform_handoff import DEFAULT_CONFIGMAP
from modeldeploy.controller.workers import DEFAULT_RESYNC_SECONDS, DEFAULT_WORKERS
from modeldeploy.observability.logs import configure_json_logging
from modeldeploy.observability.metrics import start_metrics_server


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: use 0 or more seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modeldeploy operator")
    parser.add_argument("--namespace", "-n", action="append", default=[], help="watch only these namespaces")
    parser.add_argument("--standalone", action="store_true", help="no peering (a single replica)")
    parser.add_argument(
        "--liveness", default="http://0.0.0.0:8080/healthz", help="liveness endpoint URL ('': off)"
    )
    parser.add_argument(
        "--metrics-port", type=int, default=9090, help="Prometheus /metrics port (0: a free one)"
    )
    parser.add_argument("--metrics-addr", default="0.0.0.0")
    parser.add_argument(
        "--peering-settle",
        type=_seconds,
        default=DEFAULT_SETTLE_SECONDS,
        metavar="SECONDS",
        help="after starting or resuming, wait this long before acting, so a replica this one displaces "
        f"has stopped (default {DEFAULT_SETTLE_SECONDS:g}; not used with --standalone)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"reconcile at most N ModelDeployments at once (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--resync",
        type=_seconds,
        default=DEFAULT_RESYNC_SECONDS,
        metavar="SECONDS",
        help="re-check an idle ModelDeployment this often; watched children wake it sooner "
        f"(default {DEFAULT_RESYNC_SECONDS:g})",
    )
    parser.add_argument(
        "--data-root",
        metavar="DIR",
        help="the one local directory file:// data URIs may name (default: none; file:// is refused, since "
        "the operator's file system holds its credentials)",
    )
    parser.add_argument(
        "--policy",
        choices=("enforce", "off"),
        default="enforce",
        help="enforce: a ModelDeployment may use only what a ModelDeploymentPolicy grants its namespace "
        "(default); off: no policy check (single-team clusters, development)",
    )
    parser.add_argument(
        "--validation-address",
        metavar="URL",
        help="tests and local runs only: send pre-traffic validation to this URL template ({namespace}, "
        "{name}, {revision}) instead of the revision's Service or Azure ML scoring URI",
    )
    parser.add_argument(
        "--platform-handoff",
        default=DEFAULT_CONFIGMAP,
        metavar="NAMESPACE/NAME",
        help="the ConfigMap infra publishes (handoff.json): what an Azure ML or serverless target leaves out "
        "(subscription, resource group, workspace, endpoint, adapter, gateway) is taken from it "
        f"(default {DEFAULT_CONFIGMAP}; '' for none)",
    )
    parser.add_argument(
        "--drift-pushdown-mib",
        type=int,
        default=MAX_DATA_TOTAL >> 20,
        metavar="MIB",
        help="drift windows (reference or live) with more data than this go to a Spark job: Azure ML "
        "serverless Spark on azureml targets, local pyspark with --spark-local-dir; 0: never "
        f"(default {MAX_DATA_TOTAL >> 20})",
    )
    parser.add_argument(
        "--spark-local-dir",
        metavar="DIR",
        help="run pushed-down drift jobs of kubernetes targets with pyspark in local mode, in a child "
        "process working here (tests, the demo); without it such windows are read in-process up to the caps",
    )
    parser.add_argument("--log-format", choices=("json", "text"), default="json")
    parser.add_argument("--verbose", "-v", action="store_true")
    return parser


def _fewer_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core): with a pool of
    workers that fragments the heap and inflates RSS. Two arenas serve a GIL-bound process as well.
    Set before any worker starts; a no-op off glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _fewer_malloc_arenas()
    level = logging.DEBUG if args.verbose else logging.INFO
    if args.log_format == "json":
        configure_json_logging(level)
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.workers < 1:
        raise SystemExit(f"--workers {args.workers}: use 1 or more")
    if args.resync <= 0:
        raise SystemExit(f"--resync {args.resync:g}: use more than 0 seconds")
    # kopf logs every handler call at INFO: with a thousand objects that is most of the operator's CPU.
    logging.getLogger("kopf.objects").setLevel(max(level, logging.WARNING))
    from modeldeploy.controller import handlers
    from modeldeploy.controller.peering import follow_pausing

    if args.policy == "enforce":
        handlers.watch_policies()
    else:
        logging.getLogger(__name__).warning("--policy off: ModelDeploymentPolicies are not enforced")

    memo = kopf.Memo(
        peering_settle=args.peering_settle,
        workers=args.workers,
        resync=args.resync,
        data_root=args.data_root,
        # Child watches go per namespace; a kopf glob pattern ("team-*") needs the cluster-wide one.
        namespaces=[] if any(set(ns) & set("*?[!,") for ns in args.namespace) else args.namespace,
        policy=args.policy,
        validation_address=args.validation_address,
        platform_handoff=args.platform_handoff,
        pushdown_bytes=args.drift_pushdown_mib << 20,
        spark_local_dir=args.spark_local_dir,
    )
    follow_pausing(lambda paused: handlers.on_peering_pause(memo, paused))
    port = start_metrics_server(args.metrics_port, args.metrics_addr)
    logging.getLogger(__name__).info("metrics on :%d/metrics", port, extra={"metricsPort": port})
    asyncio.run(
        kopf.operator(
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            standalone=args.standalone,
            liveness_endpoint=args.liveness or None,
            memo=memo,
        )
    )
    return 0
