"""The loopback Git server the Flux e2e pulls from: a real git client clones and fetches over smart HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localkube.gitserver import GitError, GitServer, git


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitServer]:
    s = GitServer(tmp_path / "srv")
    yield s
    s.stop()


def test_commits_are_served_over_smart_http_and_deletions_and_reverts_follow(
    server: GitServer, tmp_path: Path
) -> None:
    repo = server.create("models", tmp_path / "work")
    first = repo.commit("add scorer", {"teams/ml/scorer.yaml": "kind: A\n", "README": "x\n"})
    clone = tmp_path / "clone"
    git("clone", "--quiet", server.url("models"), str(clone))
    assert (clone / "teams/ml/scorer.yaml").read_text() == "kind: A\n"
    assert git("rev-parse", "HEAD", cwd=clone).strip() == first
    # smart protocol: ref advertisement for upload-pack, then a POST carrying the negotiation
    assert any("info/refs?service=git-upload-pack 200" in r for r in server.requests)
    assert any(
        r.startswith("POST /models.git/git-upload-pack") and r.endswith(" 200") for r in server.requests
    )

    second = repo.commit("v2", {"teams/ml/scorer.yaml": "kind: B\n"})
    third = repo.revert(second)
    gone = repo.commit("remove scorer", {"teams/ml/scorer.yaml": None})
    git("pull", "--quiet", "--ff-only", cwd=clone)
    log = git("log", "--format=%H %s", cwd=clone).splitlines()
    assert [line.split(" ", 1)[0] for line in log] == [gone, third, second, first]
    assert log[1].split(" ", 1)[1] == 'Revert "v2"'
    assert not (clone / "teams/ml/scorer.yaml").exists()
    assert (clone / "README").exists()


def test_an_unknown_repository_is_a_404_not_a_crash(server: GitServer, tmp_path: Path) -> None:
    with pytest.raises(GitError, match=r"not found|404"):
        git("clone", "--quiet", server.url("missing"), str(tmp_path / "c"))
