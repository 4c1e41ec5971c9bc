"""The handover a replica waits out after starting or resuming, before its first reconcile."""

from __future__ import annotations

import pytest

from modeldeploy.controller.handover import DEFAULT_SETTLE_SECONDS, Handover
from modeldeploy.controller.main import build_parser


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_process_start_counts_as_becoming_active() -> None:
    clock = Clock()
    handover = Handover(5.0, clock)
    clock.now = 103.0  # the first object's daemon starts 3 s after the operator
    assert handover.act_after() == 105.0
    clock.now = 200.0  # objects created long after start do not wait
    assert handover.act_after() == 105.0


def test_a_resumption_after_a_pause_waits_again_from_the_first_daemon_it_starts() -> None:
    clock = Clock()
    handover = Handover(5.0, clock)
    clock.now = 150.0
    handover.paused()
    clock.now = 181.0  # the higher-priority peer's record expired; kopf restarts the daemons
    assert handover.act_after() == 186.0
    clock.now = 182.0  # the other daemons restarted in the same resumption share the deadline
    assert handover.act_after() == 186.0


def test_settle_zero_acts_at_once_and_a_negative_one_is_refused() -> None:
    clock = Clock()
    assert Handover(0.0, clock).act_after() == 100.0
    with pytest.raises(ValueError, match=r"peering settle must be 0 or more seconds, got -1"):
        Handover(-1.0, clock)


def test_the_flag_parses_seconds_and_names_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args([]).peering_settle == DEFAULT_SETTLE_SECONDS
    assert build_parser().parse_args(["--peering-settle", "0.5"]).peering_settle == 0.5
    for bad, why in (("soon", "'soon' is not a number of seconds"), ("-2", "'-2': use 0 or more seconds")):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--peering-settle", bad])
        assert f"argument --peering-settle: {why}" in capsys.readouterr().err
