"""Azurite, a real Azure Storage API server (npm ``azurite``, installed by ``hack/azurite/install.sh``),
started once per session for every test that asks for it (``azurite``: its connection string)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Azurite's well-known development account (documented, not a secret).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Azurite Blob service; yields its connection string."""
    bin_dir = subprocess.run(
        ["bash", str(ROOT / "hack" / "azurite" / "install.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    port = _free_port()
    where = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [
            str(Path(bin_dir) / "azurite-blob"),
            "--blobHost=127.0.0.1",
            f"--blobPort={port}",
            f"--location={where}",
            "--silent",
            "--skipApiVersionCheck",  # the SDK may be newer than the emulator
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "Azurite did not start in 30 s"
            time.sleep(0.2)
    try:
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: node may take longer to exit than to start
            proc.kill()
            proc.wait(timeout=10)
