"""What the spec check cannot see: URIs inside the data. An MLTable's ``paths`` may name any URI, or climb
out of its folder with ``../``; the analysis asks the same policy for every URI it opens and keeps relative
paths inside the MLTable folder, so a granted MLTable cannot lead the operator elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.analysis.service import AnalysisService
from modeldeploy.analysis.stores import DataUnavailable
from modeldeploy.analysis.uris import Locator, source_for
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.controller.policies import PolicyGate
from modeldeploy.ports import Owner
from tests.backends.kubernetes.specs import kubernetes_spec


def _folder(root: Path, mltable: str) -> Path:
    for team in ("team-a", "team-b"):
        (root / team).mkdir(parents=True)
        (root / team / "x.csv").write_text("a\n1\n2\n")
    (root / "team-a" / "ref").mkdir()
    (root / "team-a" / "ref" / "MLTable").write_text(mltable + "transformations:\n  - read_delimited: {}\n")
    (root / "team-a" / "ref" / "y.csv").write_text("a\n3\n")
    return root / "team-a" / "ref"


def _gate(root: Path) -> PolicyGate:
    gate = PolicyGate("enforce")
    grant = {"namespaceSelector": {}, "localPaths": [str(root / "team-a")]}
    gate.observe_policy("ADDED", {"metadata": {"name": "a"}, "spec": grant})
    return gate


def _guarded(root: Path, gate: PolicyGate) -> Locator:
    spec: ModelDeploymentSpec = kubernetes_spec()
    return Locator(data_root=str(root), guard=lambda uri: gate.uri_refusal("team-a", "m", spec, uri))


def test_an_mltable_naming_another_teams_uri_is_refused(tmp_path: Path) -> None:
    table = _folder(tmp_path, f"paths:\n  - file: file://{tmp_path}/team-b/x.csv\n")
    src = source_for(f"file://{table}", "mltable", locator=_guarded(tmp_path, _gate(tmp_path)))
    with pytest.raises(DataUnavailable) as err:
        src.load(None, None)
    assert str(err.value) == (
        f'file://{tmp_path}/team-b/x.csv: local path "{tmp_path}/team-b/x.csv" is not granted to namespace '
        f'"team-a" by any ModelDeploymentPolicy (granted: {tmp_path}/team-a)'
    )


def test_an_mltable_naming_a_granted_uri_reads_it(tmp_path: Path) -> None:
    table = _folder(tmp_path, f"paths:\n  - file: file://{tmp_path}/team-a/x.csv\n  - file: ./y.csv\n")
    cols = source_for(f"file://{table}", "mltable", locator=_guarded(tmp_path, _gate(tmp_path))).load(
        None, None
    )
    assert [int(v) for v in cols["a"]] == [1, 2, 3]


def test_relative_paths_stay_inside_the_mltable_folder(tmp_path: Path) -> None:
    table = _folder(tmp_path, "paths:\n  - file: ../../team-b/x.csv\n")
    src = source_for(f"file://{table}", "mltable", locator=Locator(data_root=str(tmp_path)))
    with pytest.raises(DataUnavailable, match=r"file '\.\./\.\./team-b/x\.csv' leaves the MLTable folder"):
        src.load(None, None)


def test_the_analysis_service_asks_the_guard_for_every_uri(tmp_path: Path) -> None:
    asked: list[tuple[str, str]] = []

    def guard(owner: Owner, spec: ModelDeploymentSpec, uri: str) -> str | None:
        asked.append((owner.namespace, uri))
        return "refused for the test"

    service = AnalysisService(data_root=str(tmp_path), uri_guard=guard, providers_for=lambda s: {})
    drift = {
        "reference": {"uri": f"file://{tmp_path}/team-a/{{name}}.csv", "format": "csv"},
        "live": {"uri": f"file://{tmp_path}/team-a/live.csv", "format": "csv"},
        "numerical": [{"name": "a"}],
    }
    spec = kubernetes_spec(analysis={"drift": drift})
    analyzer = service._drift_for(Owner("team-a", "m", "u"), spec, "m-1")
    assert analyzer is not None
    assert asked == [
        ("team-a", f"{tmp_path}/team-a/m.csv".join(["file://", ""])),
        ("team-a", f"file://{tmp_path}/team-a/live.csv"),
    ]


@pytest.mark.parametrize("uri", ["team-a/link/x.csv", "team-a/stolen.csv", "team-a/"])
def test_a_link_inside_a_granted_folder_does_not_lead_to_another_teams(tmp_path: Path, uri: str) -> None:
    """Before, only the data root bounded where a symlink led: a link in team-a's granted folder read team-b's
    files, though the policy grants folders by whole segments. A read whose real path differs from the
    path asked is asked of the policy again, by its real path."""
    _folder(tmp_path, "")
    (tmp_path / "team-a" / "ref" / "MLTable").unlink()
    (tmp_path / "team-a" / "link").symlink_to(tmp_path / "team-b")
    (tmp_path / "team-a" / "stolen.csv").symlink_to(tmp_path / "team-b" / "x.csv")
    src = source_for(f"file://{tmp_path}/{uri}", "csv", locator=_guarded(tmp_path, _gate(tmp_path)))
    with pytest.raises(DataUnavailable) as err:
        src.load(None, None)
    assert str(err.value).endswith(
        f'is a link: file://{tmp_path}/team-b/x.csv: local path "{tmp_path}/team-b/x.csv" is not granted to '
        f'namespace "team-a" by any ModelDeploymentPolicy (granted: {tmp_path}/team-a)'
    )


def test_a_link_that_stays_inside_the_grant_is_read(tmp_path: Path) -> None:
    _folder(tmp_path, "")
    (tmp_path / "team-a" / "again.csv").symlink_to(tmp_path / "team-a" / "x.csv")
    src = source_for(
        f"file://{tmp_path}/team-a/again.csv", "csv", locator=_guarded(tmp_path, _gate(tmp_path))
    )
    assert [int(v) for v in src.load(None, None)["a"]] == [1, 2]
