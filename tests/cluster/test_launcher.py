"""The launcher leaves nothing behind: no process, no listening port, no directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from localkube.binaries import ensure_binaries
from localkube.cluster import ClusterError, LocalCluster, running

pytestmark = pytest.mark.cluster


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a reaped-late zombie counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_context_manager_stops_everything(tmp_path: Path) -> None:
    run_dir = tmp_path / "lk"
    with running(run_dir, ensure_binaries(), nodes=1) as c:
        pids = [p.pid for p in c.procs.values()]
        ports = [c.ports["etcd"], c.ports["apiserver"]]
        assert len(pids) == 5
        assert all(_alive(p) for p in pids)
        assert all(_port_open(p) for p in ports)
        assert c.kubectl("get", "nodes", "-o", "name").stdout.split() == ["node/kwok-node-0"]
    assert not any(_alive(p) for p in pids)
    assert not any(_port_open(p) for p in ports)
    assert not run_dir.exists()


def test_cli_up_and_down_from_separate_processes(tmp_path: Path) -> None:
    run_dir = tmp_path / "cli"
    env = {**os.environ, "LOCALKUBE_DIR": str(run_dir)}
    up = subprocess.run(
        [sys.executable, "-m", "localkube", "up", "--nodes", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    assert f"export KUBECONFIG={run_dir}/kubeconfig" in up.stdout
    again = subprocess.run(
        [sys.executable, "-m", "localkube", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1
    assert "already running" in again.stderr
    down = subprocess.run(
        [sys.executable, "-m", "localkube", "down"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "stopped kwok, kube-scheduler, kube-controller-manager, kube-apiserver, etcd" in down.stdout
    assert not run_dir.exists()


def test_a_crashing_component_fails_with_its_log(tmp_path: Path) -> None:
    binaries = ensure_binaries()
    cluster = LocalCluster(run_dir=tmp_path / "bad", binaries=binaries, nodes=1)
    # an etcd that cannot start: its data dir is a file
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "etcd").write_text("not a directory")
    with pytest.raises(ClusterError, match=r"etcd exited with code \d+; last log lines"):
        cluster.start(timeout=30)
    assert not (tmp_path / "bad").exists()
