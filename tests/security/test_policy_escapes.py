"""No spelling escapes the policy check: whatever URI hypothesis builds from grant-like pieces and known
tricks (case, userinfo, ports, ``..``, percent-encoding, backslashes, empty segments, queries, non-ASCII
look-alikes, placeholders), if the check grants it, then the code that does the I/O reads exactly inside
the grant: the same account, container and folder (``analysis.uris.Locator``), the same host and port
(urllib, for Prometheus and webhooks)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modeldeploy.analysis.datastores import DatastorePath, Workspace
from modeldeploy.analysis.stores import DataUnavailable
from modeldeploy.analysis.uris import BlobPath, LocalPath, Locator
from modeldeploy.api import patterns
from modeldeploy.policy import refs
from tests.security.policy_cases import SUB, policy, refused, spec

POLICY = policy(
    storage=[{"account": "acct1", "containers": ["training"], "pathPrefixes": ["team-a"]}],
    localPaths=["/data/team-a"],
    metrics={"prometheus": ["http://prometheus.monitoring:9090"]},
    retraining={"webhooks": [{"host": "hooks.example.com"}]},
)
TEAM_WS = Workspace(SUB, "rg-ml", "mlw-team")
HOSTS = [
    "acct1.dfs.core.windows.net", "acct1.blob.core.windows.net", "ACCT1.DFS.core.windows.net",
    "acct2.dfs.core.windows.net", "acct1.dfs.core.windows.net:443", "evil@acct1.dfs.core.windows.net",
    "acct1.dfs.core.windows.net@evil.com", "acct1.dfs.core.windows.net.evil.com",
    "\u212acct1.dfs.core.windows.net", "acct1%2edfs.core.windows.net", "{revision}.dfs.core.windows.net",
    "acct1.dfs.core.windows.net\\@evil.com",
]  # fmt: skip
SEGMENTS_OK = ["team-a", "team-b", "TEAM-A", "x.parquet", "{revision}", "*", "a?b", "...", ".x"]
SEGMENTS = [*SEGMENTS_OK, "..", ".", "", "%2e%2e", "team-a\\..", "a/../.."]
CONTAINERS = ["training", "Training", "other", "training@acct2.dfs.core.windows.net", "{revision}"]
SUFFIXES = ["", "", "?x=1", "#frag", "/", "\t"]


@st.composite
def data_uris(draw: Any) -> str:
    # Biased towards the granted pieces, so that granted URIs (the ones the property is about) are common.
    first = draw(st.sampled_from(["team-a", "modelDataCollector"] * 3 + SEGMENTS))
    path = "/".join([first, *draw(st.lists(st.sampled_from(SEGMENTS_OK * 4 + SEGMENTS), max_size=4))])
    host = draw(st.sampled_from(HOSTS[:3] * 4 + HOSTS))
    container = draw(st.sampled_from(CONTAINERS[:1] * 6 + CONTAINERS))
    ds_ws = draw(st.sampled_from(["mlw-team"] * 6 + ["MLW-TEAM", "mlw-other", "..", "mlw-team/x"]))
    ds = draw(st.sampled_from(["collected"] * 6 + ["COLLECTED", "other", "..", "collected/paths/x"]))
    form = draw(
        st.sampled_from(
            [
                f"abfss://{container}@{host}/{path}",
                f"wasbs://{container}@{host}/{path}",
                f"https://{host}/{container}/{path}",
                f"file:///data/{path}",
                f"file://{path}",
                f"azureml://datastores/{ds}/paths/{path}",
                f"azureml://subscriptions/{SUB}/resourcegroups/rg-ml/workspaces/{ds_ws}/datastores/{ds}/paths/{path}",
            ]
        )
    )
    if draw(st.integers(0, 3)) == 0:  # and some noise anywhere
        at = draw(st.integers(0, len(form)))
        form = form[:at] + draw(st.text(max_size=3)) + form[at:]
    return form + draw(st.sampled_from(SUFFIXES[:1] * 6 + SUFFIXES))


def _inside(path: str, prefix: str) -> bool:
    parts = path.strip("/").split("/")
    return parts[: len(prefix.split("/"))] == prefix.split("/") and not {"", ".", ".."} & set(parts)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data_uris())
def test_a_granted_data_uri_is_read_inside_the_grant(uri: str) -> None:
    assume(re.fullmatch(patterns.DATA_URI.strip("^$"), uri) is not None and len(uri) <= 2048)
    try:
        s = spec(**{"analysis.drift.reference.uri": uri})
    except ValueError:
        assume(False)
        raise
    granted = not [r for r in refused(s, POLICY) if r.field == "spec.analysis.drift.reference.uri"]
    if not granted:
        return
    assert "%" not in uri
    assert "\\" not in uri
    try:
        where = Locator(TEAM_WS).parse(uri)
    except DataUnavailable:
        where = None  # the reader refuses it too: no I/O
    if uri.startswith("file://"):
        assert urlparse(uri).netloc == ""
        assert _inside(urlparse(uri).path, "data/team-a"), uri
    elif isinstance(where, BlobPath):
        assert where.account_url.lower() == "https://acct1.blob.core.windows.net", uri
        assert where.account_url.isascii()
        assert where.container == "training", uri
        assert _inside(where.path, "team-a"), uri
    elif isinstance(where, DatastorePath):
        assert where.workspace is None or where.workspace.key() == TEAM_WS.key(), uri
        assert where.datastore.lower() == "collected", uri
        assert _inside(where.path, "modelDataCollector"), uri
    else:
        assert where is None or isinstance(where, LocalPath), uri


def test_the_generator_reaches_granted_forms() -> None:
    # Guards the property above against checking nothing: these are granted, and are what it exercises.
    for uri in (
        "abfss://training@acct1.dfs.core.windows.net/team-a/x.parquet",
        "https://ACCT1.DFS.core.windows.net/training/team-a/*",
        f"azureml://subscriptions/{SUB}/resourcegroups/rg-ml/workspaces/MLW-TEAM/datastores/COLLECTED/paths/"
        "modelDataCollector/x",
        "file:///data/team-a/x.parquet",
    ):
        got = refused(spec(**{"analysis.drift.reference.uri": uri}), POLICY)
        assert [r for r in got if r.field == "spec.analysis.drift.reference.uri"] == [], uri


AUTHORITIES = [
    "prometheus.monitoring:9090", "PROMETHEUS.monitoring:9090", "prometheus.monitoring",
    "prometheus.monitoring:90",
    "user@prometheus.monitoring:9090", "prometheus.monitoring:9090@evil", "prometheus.monitoring:9090\\@evil",
    "prometheus.monitoring.:9090", "[::1]:9090", "prometheus.monitoring:09090", "prometheus.monitoring:+9090",
    "hooks.example.com", "hooks.example.com:443", "HOOKS.example.com", "hooks.example.com@evil.com",
    "evil.com#@hooks.example.com", "hooks.example.com:0443", "\u212a.example.com",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(AUTHORITIES),
    st.sampled_from(["", "/", "/api", "/../x", "/%2e%2e", "?q", "#f"]),
    st.text(max_size=2),
)
def test_a_granted_endpoint_is_the_host_and_port_urllib_connects_to(
    scheme: str, authority: str, path: str, noise: str
) -> None:
    url = f"{scheme}://{authority}{noise}{path}"
    for granted_host, port, check in (
        ("prometheus.monitoring", 9090, lambda: refs.endpoint(url)),
        ("hooks.example.com", 443, lambda: refs.endpoint(url, schemes=("https",))),
    ):
        try:
            got = check()
        except refs.Unsupported:
            continue
        if (got.host, got.port) != (granted_host, port):
            continue
        # what the check calls this endpoint is where urllib goes
        parts = urlsplit(url + "/api/v1/query")
        assert parts.username is None, url
        assert parts.password is None, url
        assert parts.hostname == granted_host, url
        assert (parts.port or (443 if parts.scheme == "https" else 80)) == port, url


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file://etc/passwd", "not a form a ModelDeploymentPolicy can grant"),
        ("file:///data/team-a/x?y", "not a form a ModelDeploymentPolicy can grant"),
        (
            "ABFSS://training@acct1.dfs.core.windows.net/team-a/x",
            "not a form a ModelDeploymentPolicy can grant",
        ),
        ("abfss://training@acct1.dfs.core.windows.net/team-a/%2e%2e/x", "percent-encoding"),
    ],
)
def test_the_parser_refuses_forms_the_api_pattern_lets_through_or_not(uri: str, message: str) -> None:
    with pytest.raises(refs.Unsupported, match=re.escape(message)):
        refs.data_ref(uri)
