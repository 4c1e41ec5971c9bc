"""Hypothesis over random event sequences for the batch machine: the default only ever moves to a revision
whose validation runs succeeded and compared well; a failed revision is never the default nor retried; a
request starts at most one run; decisions are deterministic and idempotent; the run history is bounded."""

from __future__ import annotations

from collections import Counter
from typing import Any

from batch_world import BatchWorld, desired
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeldeploy.api.batch import RUN_HISTORY_LIMIT
from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.status import Verdict
from modeldeploy.rollout.batch import decide_batch
from modeldeploy.rollout.batch_types import ComparisonSeen, StartRun

EXAMPLES = 300
FAST = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

events = st.lists(
    st.one_of(
        st.tuples(st.just("finish"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("finish_all"), st.integers(0, 3)),
        st.tuples(st.just("desire"), st.sampled_from(["1.0.0", "2.0.0", "3.0.0", "4.0.0"])),
        st.tuples(
            st.just("verdict"),
            st.sampled_from([Verdict.SUCCESSFUL, Verdict.FAILED, Verdict.INCONCLUSIVE]),
            st.integers(-3, 3),
        ),
        st.tuples(st.just("request"), st.integers(0, 3), st.booleans()),
        st.tuples(st.just("arrive"), st.integers(0, 3)),
        st.tuples(st.just("lose"), st.integers(0, 5)),
        st.tuples(st.just("tick"), st.integers(1, 120)),
    ),
    min_size=1,
    max_size=40,
)


def _running(w: BatchWorld) -> list[str]:
    return sorted(n for n, j in w.jobs.items() if j.phase is RunPhase.RUNNING)


def play(script: list[tuple[Any, ...]], seen: Counter[str]) -> None:
    w = BatchWorld()
    files = requests = 0
    by_request: dict[str, set[str]] = {}
    for event in script:
        arrivals: tuple[str, ...] | None = None
        match event:
            case ("finish", i, ok) if _running(w):
                w.finish(_running(w)[i % len(_running(w))], ok)
            case ("finish_all", n):
                w.finish_all(ok=n > 0)  # mostly successes: promotions must be reached too
            case ("desire", version):
                w.desired = desired(version)
            case ("verdict", verdict, delta):
                w.verdict = ComparisonSeen(verdict, str(verdict), 100, 100 + delta, 0.0)
            case ("request", i, with_input):
                requests += 1  # the CLI writes a fresh id (a UUID) per request
                w.request(f"r{i}-{requests}", "file:///data/adhoc/" if with_input else None)
            case ("arrive", n):
                names = tuple(f"f{files + k:04d}.csv" for k in range(n))
                files += n
                watermark = w.status.batch.watermark if w.status.batch else None
                arrivals = tuple(
                    x for x in (*_known(files - n), *names) if watermark is None or x > watermark
                )
            case ("lose", i) if w.jobs:
                del w.jobs[sorted(w.jobs)[i % len(w.jobs)]]
            case ("tick", seconds):
                w.tick(seconds)
        before = w.status
        inputs = w.inputs(arrivals)
        assert decide_batch(inputs) == decide_batch(inputs), "decisions are deterministic"
        compared_before = len(w.compared)
        w.step(arrivals)
        after = w.status
        # The default moves only to the candidate that was just compared successfully, rows within bounds.
        if before.stable is not None and after.stable is not None and before.stable.name != after.stable.name:
            assert len(w.compared) == compared_before + 1, "promoted without a comparison"
            assert w.compared[-1].candidate == after.stable.name
            assert w.verdict.verdict is Verdict.SUCCESSFUL
            assert w.verdict.candidate_rows == w.verdict.stable_rows
            seen["promoted"] += 1
        if after.stable is not None:
            assert not after.is_failed(after.stable.spec_hash), "a failed revision is the default"
        if after.failed_revisions:
            seen["failed"] += 1
            if after.is_failed(w.desired.spec_hash):
                assert after.candidate is None or after.candidate.spec_hash != w.desired.spec_hash
        runs = after.batch.runs if after.batch else []
        assert len(runs) <= RUN_HISTORY_LIMIT
        for s in w.started:
            if s.trigger == "manual":
                by_request.setdefault(s.name, set()).add(f"{s.revision}|{s.input}")
        assert all(len(v) == 1 for v in by_request.values()), "a run name started twice differently"
        # Idempotent: deciding again on the world the actions made never starts a run that was started.
        again = decide_batch(w.inputs())
        started = {s.name for s in w.started}
        assert not [a for a in again.actions if isinstance(a, StartRun) and a.name in started], again.actions
        seen.update(e.reason for e in w.events)
        w.events.clear()


def _known(n: int) -> tuple[str, ...]:
    return tuple(f"f{k:04d}.csv" for k in range(n))


def test_batch_invariants_over_random_event_sequences() -> None:
    seen: Counter[str] = Counter()

    @FAST
    @given(events)
    def run(script: list[tuple[Any, ...]]) -> None:
        play(script, seen)

    run()
    for reason in (
        "promoted",
        "failed",
        "RolledBack",
        "RunFailed",
        "RunSucceeded",
        "RunStarted",
        "Superseded",
    ):
        assert seen[reason] > 0, f"no generated run reached {reason}: {dict(seen)}"


def test_the_oracle_catches_a_machine_that_promotes_without_comparing() -> None:
    import modeldeploy.rollout.batch as machine

    original = machine._compare

    def hasty(w: Any) -> None:
        machine._promote(w, "no comparison")

    machine._compare = hasty  # type: ignore[assignment]
    try:
        caught = False
        try:
            play([("tick", 5), ("tick", 5), ("desire", "2.0.0"), ("tick", 5), ("tick", 5)], Counter())
        except AssertionError as exc:
            caught = "promoted without a comparison" in str(exc)
        assert caught
    finally:
        machine._compare = original  # type: ignore[assignment]
