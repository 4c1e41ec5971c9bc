"""Evaluate each stack once per session under mocks; tests read the recorded resource graph."""

from __future__ import annotations

import pytest

from kdap_infra.testing import ProgramRun, run_stack


@pytest.fixture(scope="session")
def dev() -> ProgramRun:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod() -> ProgramRun:
    return run_stack("prod")


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> ProgramRun:
    run: ProgramRun = request.getfixturevalue(request.param)
    return run
