"""A batch model's data URIs are grants like drift data: input, output, validation input, watched folder."""

from __future__ import annotations

from tests.api.batch_cases import batch_kubernetes
from tests.security.policy_cases import policy, refused, spec


def test_every_batch_uri_needs_a_grant_and_is_named() -> None:
    body = batch_kubernetes()
    assert [r.field for r in refused(spec(body))] == [
        "spec.batch.input",
        "spec.batch.output.uri",
        "spec.batch.rollout.input",
        "spec.batch.dataArrival.uri",
    ]


def test_a_granted_folder_covers_them_and_a_neighbour_is_refused() -> None:
    granted = policy(localPaths=["/data/churn"])
    assert refused(spec(batch_kubernetes()), granted) == []
    body = batch_kubernetes()
    body["batch"]["output"]["uri"] = "file:///data/churn-other/scores/{revision}"
    (only,) = refused(spec(body), granted)
    assert str(only) == (
        'spec.batch.output.uri: local path "/data/churn-other/scores/{revision}" is not granted to namespace '
        '"team-a" by any ModelDeploymentPolicy (granted: /data/churn)'
    )
