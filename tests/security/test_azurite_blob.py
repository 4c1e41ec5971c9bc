"""Blob / ADLS reads against Azurite, a real Azure Storage API server (npm ``azurite``, installed by
``make setup``), through the real azure-storage-blob client: the data arrives, folders mean whole segments
on a real listing, a file over the size cap is refused before its bytes are downloaded, and a path no
ModelDeploymentPolicy grants is refused before any request reaches the storage account."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from modeldeploy.analysis import stores
from modeldeploy.analysis.sources import DataUnavailable
from modeldeploy.analysis.uris import Locator, source_for
from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.caps import LimitExceeded
from modeldeploy.policy import Policy, data_refusal
from tests.analysis.blob_fakes import parquet_bytes
from tests.e2e.manifests import model_deployment

DATA = "https://kdapdata.blob.core.windows.net/training"


class Counting:
    """The real ContainerClient, counting downloads that actually read bytes."""

    def __init__(self, inner: ContainerClient) -> None:
        self.inner = inner
        self.read_bytes: list[str] = []

    def list_blobs(self, name_starts_with: str | None = None, **kwargs: Any) -> Any:
        return self.inner.list_blobs(name_starts_with=name_starts_with, **kwargs)

    def download_blob(self, blob: str, **kwargs: Any) -> Any:
        download = self.inner.download_blob(blob, **kwargs)
        outer = self

        class Reading:
            size = download.size

            def readall(self) -> bytes:
                outer.read_bytes.append(blob)
                return bytes(download.readall())

        return Reading()


@pytest.fixture
def training(azurite: str) -> Counting:
    service = BlobServiceClient.from_connection_string(azurite)
    container = service.get_container_client("training")
    if not container.exists():
        container.create_container()
    table = pa.table({"x": [1.0, 2.0, 3.0]})
    for name in ("team-a/reference.parquet", "team-ab/reference.parquet", "team-a/big.parquet"):
        container.upload_blob(name, parquet_bytes(table), overwrite=True)
    return Counting(ContainerClient.from_connection_string(azurite, "training"))


def locator(client: Counting, opened: list[tuple[str, str]]) -> Locator:
    def make(account_url: str, container: str) -> Counting:
        opened.append((account_url, container))
        return client

    return Locator(make_client=make)


def test_a_reference_is_read_through_the_real_blob_api_and_folders_are_whole_segments(
    training: Counting,
) -> None:
    opened: list[tuple[str, str]] = []
    cols = source_for(f"{DATA}/team-a/reference.parquet", "parquet", locator=locator(training, opened)).load(
        None, None
    )
    assert list(cols["x"]) == [1.0, 2.0, 3.0]
    assert opened == [("https://kdapdata.blob.core.windows.net", "training")]
    # "team-a" is a folder: the real listing under it has team-a/..., never team-ab/...
    listed = stores.BlobStore(training).list("team-a")
    assert listed == ["team-a/big.parquet", "team-a/reference.parquet"]


def test_a_file_over_the_cap_is_refused_before_its_bytes_are_read(
    training: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = training.inner.get_blob_client("team-a/big.parquet").get_blob_properties().size
    monkeypatch.setattr(stores, "MAX_DATA_FILE", size - 1)
    with pytest.raises(LimitExceeded) as err:
        stores.BlobStore(training, DATA).read("team-a/big.parquet")
    assert str(err.value).startswith(f"data file {DATA}/team-a/big.parquet")
    assert str(size - 1) in str(err.value)
    assert training.read_bytes == []  # Azurite answered the size; no byte of the blob was downloaded


def test_a_path_no_policy_grants_is_refused_before_any_request(training: Counting) -> None:
    labels = {"team": "a"}
    policy = Policy(
        "team-a",
        ModelDeploymentPolicySpec.model_validate(
            {
                "namespaceSelector": {"matchLabels": labels},
                "storage": [{"account": "kdapdata", "containers": ["training"], "pathPrefixes": ["team-a/"]}],
            }
        ),
    )
    spec = ModelDeploymentSpec.model_validate(model_deployment("m")["spec"])

    def guard(uri: str) -> str | None:
        return data_refusal(spec, "team-a", "m", labels, [policy], uri)

    opened: list[tuple[str, str]] = []
    loc = locator(training, opened)
    loc.guard = guard
    granted = source_for(f"{DATA}/team-a/reference.parquet", "parquet", locator=loc).load(None, None)
    assert list(granted["x"]) == [1.0, 2.0, 3.0]
    refused = {
        f"{DATA}/team-ab/reference.parquet": 'path "team-ab/reference.parquet" in kdapdata/training is not '
        'granted to namespace "team-a" by any ModelDeploymentPolicy (granted: team-a/)',
        f"{DATA}/team-a/../team-ab/reference.parquet": "empty, '.' and '..' path segments are not allowed",
    }
    for uri, reason in refused.items():
        with pytest.raises(DataUnavailable) as err:
            source_for(uri, "parquet", locator=loc).load(None, None)
        assert str(err.value).startswith(f"{uri}: ")
        assert str(err.value).count(uri) == 1
        assert reason in str(err.value)
    assert opened == [("https://kdapdata.blob.core.windows.net", "training")]  # the granted read only
    assert "team-ab/reference.parquet" not in training.read_bytes
