"""`python -m localkube up|down|status|env`: a local control plane that outlives the command."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from localkube.binaries import ensure_binaries
from localkube.cluster import ClusterError, LocalCluster, stop_from_state


def default_run_dir() -> Path:
    return Path(os.environ.get("LOCALKUBE_DIR", f"/tmp/localkube-{os.getuid()}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localkube", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument(
        "--dir", type=Path, default=default_run_dir(), help="run directory (default: %(default)s)"
    )
    parser.add_argument("--nodes", type=int, default=2, help="number of kwok fake nodes")
    args = parser.parse_args(argv)
    run_dir: Path = args.dir
    kubeconfig = run_dir / "kubeconfig"

    if args.command == "up":
        if (run_dir / "state.json").exists():
            print(f"localkube: already running in {run_dir}; `localkube down` first", file=sys.stderr)
            return 1
        binaries = ensure_binaries()
        cluster = LocalCluster(run_dir=run_dir, binaries=binaries, nodes=args.nodes, attached=False)
        start = time.monotonic()
        try:
            cluster.start()
        except ClusterError as exc:
            print(f"localkube: {exc}", file=sys.stderr)
            return 1
        print(f"localkube: control plane ready in {time.monotonic() - start:.1f}s at {cluster.server}")
        print(f"export KUBECONFIG={kubeconfig}")
        return 0
    if args.command == "down":
        stopped = stop_from_state(run_dir)
        print(f"localkube: stopped {', '.join(stopped) or 'nothing'}; removed {run_dir}")
        return 0
    if args.command == "status":
        state = run_dir / "state.json"
        if not state.exists():
            print("localkube: not running")
            return 1
        print(json.dumps(json.loads(state.read_text()), indent=2))
        return 0
    print(f"export KUBECONFIG={kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
