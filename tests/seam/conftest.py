"""Each stack evaluated once under Pulumi mocks; the seam tests read what it registered and exported."""

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
