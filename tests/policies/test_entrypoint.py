"""`policies/__main__.py` as Pulumi launches it: a process that prints its port and serves the analyzer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2_grpc

from kdap_policies.pack import PACK_NAME, RULE_NAMES

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    process = subprocess.Popen(
        [sys.executable, "-u", "__main__.py"],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def test_pack_entrypoint_serves_every_policy(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
    assert info.name == PACK_NAME
    assert [p.name for p in info.policies] == list(RULE_NAMES)


def test_policy_yaml_runs_python_in_the_repository_virtualenv() -> None:
    text = (PACK_DIR / "PulumiPolicy.yaml").read_text()
    assert "name: python" in text
    assert "virtualenv: ../.venv" in text
    assert (PACK_DIR / "../.venv/bin/python").exists()
