"""ModelDeployment objects as the apiserver returns them, for the offline rendering and report tests."""

from __future__ import annotations

from typing import Any


def canary_at_step_two(
    drift_uri_ref: str = "file:///nope/ref.csv", drift_uri_live: str = "file:///nope/live.csv"
) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {
            "name": "scorer",
            "namespace": "team-a",
            "uid": "u1",
            "creationTimestamp": "2025-03-01T11:00:00Z",
        },
        "spec": {
            "model": {"name": "scorer", "version": "1.1.0"},
            "strategy": {
                "type": "canary",
                "canary": {
                    "steps": [
                        {"weight": 10},
                        {"weight": 25, "pause": {"duration": "1m"}, "analysis": True},
                        {"weight": 50, "pause": {}},
                        {"weight": 100},
                    ]
                },
            },
            "analysis": {
                "drift": {
                    "reference": {"uri": drift_uri_ref, "format": "csv"},
                    "live": {"uri": drift_uri_live, "format": "csv"},
                    "numerical": [{"name": "age", "test": "ks"}],
                    "categorical": [{"name": "channel", "test": "chiSquared"}],
                }
            },
        },
        "status": {
            "phase": "Progressing",
            "stable": {
                "name": "scorer-aaaa",
                "specHash": "a",
                "modelVersion": "1.0.0",
                "readyAt": "2025-03-01T11:00:30Z",
            },
            "candidate": {
                "name": "scorer-bbbb",
                "specHash": "b",
                "modelVersion": "1.1.0",
                "readyAt": "2025-03-01T11:58:00Z",
            },
            "traffic": {
                "weights": {"scorer-aaaa": 75, "scorer-bbbb": 25},
                "mirror": "scorer-bbbb",
                "mirrorPercent": 10,
            },
            "currentStepIndex": 1,
            "stepStartedAt": "2025-03-01T11:59:30Z",
            "lastAnalysis": {
                "revision": "scorer-bbbb",
                "stepIndex": 1,
                "time": "2025-03-01T11:59:50Z",
                "verdict": "Failed",
                "message": "drift: 2 of 2 features drifted",
                "metrics": [{"name": "error-rate", "value": 0.004, "verdict": "Successful"}],
                "drift": [
                    {
                        "feature": "age",
                        "test": "ks",
                        "testChosen": "set in the spec",
                        "engine": "spark: the live window is 3.2 GiB, over the 1.0 GiB pod limit",
                        "statistic": 0.31,
                        "pValue": 1.2e-12,
                        "threshold": 0.05,
                        "verdict": "Failed",
                    },
                    {
                        "feature": "channel",
                        "test": "chiSquared",
                        "statistic": 88.0,
                        "pValue": 3e-9,
                        "threshold": 0.05,
                        "verdict": "Failed",
                    },
                    {
                        "feature": "income",
                        "test": "psi",
                        "statistic": 0.01,
                        "distance": 0.01,
                        "threshold": 0.2,
                        "verdict": "Successful",
                    },
                ],
                "datasetDriftShare": 0.67,
                "driftDetected": True,
                "driftId": "d1",
            },
            "request": {"action": "pause", "id": "0b7c9a52-1111-2222-3333-444455556666"},
            "lastHandledRequestId": "0b7c9a52-1111-2222-3333-444455556666",
            "lastHandledRequestResult": "pause accepted",
            "history": [
                {
                    "time": "2025-03-01T11:00:00Z",
                    "phase": "Pending",
                    "reason": "RevisionCreated",
                    "revision": "scorer-aaaa",
                },
                {
                    "time": "2025-03-01T11:00:30Z",
                    "phase": "Promoted",
                    "reason": "FirstRevisionReady",
                    "revision": "scorer-aaaa",
                },
                {
                    "time": "2025-03-01T11:58:00Z",
                    "phase": "Progressing",
                    "reason": "CanaryStarted",
                    "revision": "scorer-bbbb",
                    "message": "step 1: 10%",
                },
            ],
        },
    }
