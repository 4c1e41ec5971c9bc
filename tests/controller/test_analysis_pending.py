"""An analysis computed elsewhere (a Spark job) is a requeue, not a wait and not a verdict: the reconcile
returns at once asking to be run again after the job's poll interval, the machine records no result, and
the rollout moves on when the job's result arrives."""

from __future__ import annotations

from datetime import datetime, timedelta

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult
from modeldeploy.ports import AnalysisPending, Owner
from modeldeploy.rollout.actions import RunAnalysis
from tests.controller.fakes import FixedAnalysis
from tests.controller.test_reconciler import ANALYSED, World, _spec


class PendingThenDone(FixedAnalysis):
    def __init__(self, pending: int) -> None:
        super().__init__()
        self.pending = pending

    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        if self.pending:
            self.pending -= 1
            self.runs.append(request)
            raise AnalysisPending(4.0, "drift: Spark job job-1 running")
        return super().run(owner, spec, request, now)


def test_a_pending_analysis_requeues_after_the_poll_interval_and_records_nothing() -> None:
    w = World()
    w.settle(_spec())
    w.analysis = w.reconciler.analysis = PendingThenDone(pending=3)
    pending_requeues = []
    for _ in range(30):
        before, recorded = w.analysis.pending, w.store.status.last_analysis
        out = w.reconciler.reconcile(w.body(_spec("2.0.0", **ANALYSED), generation=2))
        if w.analysis.pending < before:  # this reconcile met a running job
            pending_requeues.append(out.requeue_after)
            assert w.store.status.last_analysis == recorded  # no verdict, not even Inconclusive
        w.now += timedelta(seconds=out.requeue_after or 1)
        if w.store.status.phase == "Promoted":
            break
    assert pending_requeues == [4.0, 4.0, 4.0]  # polled again after the job's interval each time
    assert w.store.status.phase == "Promoted"
    last = w.store.status.last_analysis
    assert last is not None
    assert last.message == "fixed Successful"
