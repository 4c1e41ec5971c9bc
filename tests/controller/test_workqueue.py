"""The work queue: de-duplication, one worker per key, timers, backoff, FIFO fairness, shutdown."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeldeploy.controller.workqueue import ShutDown, WorkQueue
from modeldeploy.retry import RetryPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drain(q: WorkQueue[str]) -> list[str]:
    out = []
    while (k := q.get(timeout=0)) is not None:
        out.append(k)
        q.done(k)
    return out


def test_a_key_added_many_times_while_waiting_is_handed_out_once() -> None:
    q: WorkQueue[str] = WorkQueue()
    for _ in range(5):
        q.add("a")
    q.add("b")
    assert len(q) == 2
    assert drain(q) == ["a", "b"]
    assert q.adds == 6


def test_a_key_being_processed_is_not_handed_to_a_second_worker_but_comes_back_after_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert q.get(timeout=0) == "a"
    q.add("a")  # a change seen mid-reconcile
    q.add("a")
    assert q.get(timeout=0) is None  # not twice at once
    assert q.stats().processing == 1
    q.done("a")
    assert q.get(timeout=0) == "a"  # once more, for the change
    q.done("a")
    assert q.get(timeout=0) is None


def test_keys_come_out_first_in_first_out_and_a_re_added_key_keeps_its_place() -> None:
    q: WorkQueue[str] = WorkQueue()
    for k in "abc":
        q.add(k)
    q.add("a")  # a busy object re-added must not jump ahead of, or behind, the others
    assert drain(q) == ["a", "b", "c"]


def test_add_after_waits_and_the_earliest_timer_wins() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("a", 5)  # earlier: replaces
    q.add_after("a", 20)  # later: ignored
    assert q.get(timeout=0) is None
    assert q.stats().scheduled == 1
    clock.now += 4.9
    assert q.get(timeout=0) is None
    clock.now += 0.2
    assert q.get(timeout=0) == "a"
    q.done("a")
    clock.now += 30
    assert q.get(timeout=0) is None  # the superseded timers do not fire again


def test_an_add_makes_a_scheduled_key_ready_at_once_and_clears_its_timer() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 60)
    q.add("a")
    assert q.get(timeout=0) == "a"
    q.done("a")
    clock.now += 61
    assert q.get(timeout=0) is None
    assert q.stats().scheduled == 0


def test_rate_limited_adds_back_off_exponentially_until_forgotten() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(RetryPolicy(base_delay=1.0, max_delay=5.0), clock=clock)
    delays = [q.add_rate_limited("a") for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert q.failures("a") == 5
    assert q.retries == 5
    q.forget("a")
    assert q.failures("a") == 0
    assert q.add_rate_limited("a") == 1.0


def test_a_retry_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="0 <= base_delay <= max_delay, got -1"):
        RetryPolicy(base_delay=-1)
    with pytest.raises(ValueError, match="0 <= base_delay <= max_delay, got 5 and 1"):
        RetryPolicy(base_delay=5, max_delay=1)
    with pytest.raises(ValueError, match="at least 1 attempt, got 0"):
        RetryPolicy(attempts=0)


def test_discard_drops_timers_backoff_and_pending_work_of_a_deleted_object() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 5)
    q.add_rate_limited("a")
    q.add("b")
    q.discard("a")
    q.discard("b")
    clock.now += 100
    assert q.get(timeout=0) is None
    assert q.failures("a") == 0
    st_ = q.stats()
    assert (st_.depth, st_.scheduled) == (0, 0)


def test_stats_report_depth_the_oldest_wait_and_the_longest_reconcile() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add("a")
    clock.now += 3
    q.add("b")
    clock.now += 1
    s = q.stats()
    assert (s.depth, s.oldest_age) == (2, 4.0)
    assert q.get(timeout=0) == "a"
    clock.now += 7
    s = q.stats()
    assert (s.depth, s.processing, s.longest_running, s.oldest_age) == (1, 1, 7.0, 8.0)


def test_a_blocked_get_wakes_for_an_add_and_for_a_timer_and_shutdown_releases_workers() -> None:
    q: WorkQueue[str] = WorkQueue()
    got: list[str | None] = []
    t = threading.Thread(target=lambda: got.append(q.get(timeout=5)))
    t.start()
    time.sleep(0.05)
    q.add("a")
    t.join(2)
    assert got == ["a"]
    start = time.monotonic()
    q.add_after("b", 0.2)
    assert q.get(timeout=5) == "b"
    assert 0.15 <= time.monotonic() - start < 2
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            q.get()
        except ShutDown as exc:
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.05)
    q.shut_down()
    t.join(2)
    assert len(errors) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "after", "get", "done", "tick"]), st.sampled_from("abcd")),
        max_size=60,
    )
)
def test_random_operations_never_hand_out_a_key_twice_and_never_lose_an_add(
    ops: list[tuple[str, str]],
) -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    held: set[str] = set()
    owed: set[str] = set()  # added since it was last handed out: must come out again
    for op, key in ops:
        if op == "add":
            q.add(key)
            owed.add(key)
        elif op == "after":
            q.add_after(key, 1.0)
        elif op == "tick":
            clock.now += 1.5
        elif op == "get":
            got = q.get(timeout=0)
            if got is not None:
                assert got not in held, f"{got} handed to two workers"
                held.add(got)
                owed.discard(got)
        elif op == "done" and key in held:
            q.done(key)
            held.discard(key)
    for key in list(held):
        q.done(key)
    clock.now += 10
    assert owed <= set(drain(q))


def test_the_body_cache_keeps_no_managed_fields_nor_a_second_copy_of_the_spec() -> None:
    import json

    from modeldeploy.controller.bodies import LAST_APPLIED, BodyCache

    spec = {"model": {"name": "m", "version": "1.0.0"}, "target": {"type": "kubernetes"}}
    body = {
        "metadata": {
            "namespace": "ml",
            "name": "m",
            "resourceVersion": "7",
            "annotations": {LAST_APPLIED: json.dumps({"spec": spec}), "team": "fraud"},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:model": {}}}}] * 5,
        },
        "spec": spec,
        "status": {"phase": "Promoted"},
    }
    cache = BodyCache()
    key = cache.put(body)
    kept = cache.get(key)
    assert kept is not None
    assert kept["metadata"] == {
        "namespace": "ml",
        "name": "m",
        "resourceVersion": "7",
        "annotations": {"team": "fraud"},
    }
    assert (kept["spec"], kept["status"]) == (spec, {"phase": "Promoted"})
    assert "managedFields" in body["metadata"]  # the watch's own object is left as it was
    assert len(json.dumps(kept)) < len(json.dumps(body)) / 2


def test_the_body_cache_keeps_a_status_history_in_a_quarter_of_its_json() -> None:
    import json

    from modeldeploy.controller.bodies import BodyCache

    history = [
        {
            "time": f"2026-11-30T06:{i:02d}:00Z",
            "phase": "Progressing",
            "reason": "StepAdvanced",
            "message": f"step {i % 3} of m-{i} at weight {10 * (i % 10)} %",
            "revision": f"m-{i:08x}",
        }
        for i in range(20)
    ]
    body = {
        "metadata": {"namespace": "ml", "name": "m", "resourceVersion": "7", "uid": "u-1", "generation": 3},
        "spec": {"model": {"name": "m", "version": "1.0.0"}, "target": {"type": "kubernetes"}},
        "status": {"phase": "Promoted", "history": history},
    }
    cache = BodyCache()
    key = cache.put(body)
    assert cache.get(key) == body
    assert cache.stored_bytes() < len(json.dumps(body, separators=(",", ":"))) / 4
    cache.remove(key)
    assert cache.stored_bytes() == 0
