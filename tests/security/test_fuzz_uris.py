"""Fuzzed data URIs (#13): every URI is refused by the API's pattern, or accepted and then either located
or refused by the operator with a message naming it (``DataUnavailable``): never another exception, which
would have surfaced as a reconcile crash rather than an Inconclusive analysis."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from modeldeploy.analysis.stores import DataUnavailable
from modeldeploy.analysis.uris import Locator, Unavailable, source_for
from modeldeploy.api.analysis import DataRef

_SCHEMES = st.sampled_from(
    ["file://", "https://", "abfss://", "wasbs://", "azureml://", "http://", "", "s3://"]
)
_REST = st.text(alphabet="abc/._-:@[]?*%{}0123456789 \\", max_size=60)
_LONG = "subscriptions/x/resourcegroups/r/workspaces/w/datastores/d/paths/"
_HOSTS = st.sampled_from(
    ["", "acct.blob.core.windows.net/", "acct.dfs.core.windows.net/", "evil.example/", "datastores/", _LONG]
)


@settings(max_examples=400, deadline=None)
@given(scheme=_SCHEMES, host=_HOSTS, rest=_REST)
def test_fuzzed_uris_are_refused_or_located_with_a_clear_message(scheme: str, host: str, rest: str) -> None:
    uri = scheme + host + rest
    refused = ""
    try:
        DataRef(uri=uri)
    except ValidationError as exc:
        refused = str(exc)
    if refused:
        assert "uri" in refused
        return
    locator = Locator(data_root=str(Path("/nonexistent-data-root")))
    message = ""
    try:
        locator.parse(uri)  # raised ValueError ("Invalid IPv6 URL") for https://] before
    except DataUnavailable as exc:
        message = str(exc)
    assert not message or uri in message or "data root" in message, message
    source = source_for(uri, "csv", locator=locator)  # never raises: a refusal is an Unavailable source
    assert source is not None
    if isinstance(source, Unavailable):
        assert source.reason
