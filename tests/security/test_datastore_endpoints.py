"""A datastore is workspace data that anyone who may edit the workspace can change: its endpoint and account
name must not steer the operator's bearer token to another host (finding 2 of #13). Built from azure-ai-ml's
own datastore entities."""

from __future__ import annotations

import pytest
from azure.ai.ml.entities import AzureBlobDatastore, AzureDataLakeGen2Datastore

from modeldeploy.analysis.datastores import Workspace, storage_location
from modeldeploy.analysis.sources import DataUnavailable

WS = Workspace("00000000-0000-0000-0000-000000000001", "rg-kdap-prod", "mlw-kdap-prod")


@pytest.mark.parametrize(
    "endpoint",
    ["evil.example", "core.windows.net.evil.example", "evil.example/core.windows.net", "windows.net"],
)
def test_an_endpoint_outside_azure_storage_is_refused(endpoint: str) -> None:
    store = AzureBlobDatastore(name="blobs", account_name="acct1", container_name="c", endpoint=endpoint)
    with pytest.raises(DataUnavailable) as err:
        storage_location(store, WS)
    assert f"has endpoint {endpoint!r}" in str(err.value)
    assert "only to Azure Storage (core.windows.net, core.chinacloudapi.cn, core.usgovcloudapi.net)" in str(
        err.value
    )


@pytest.mark.parametrize("account", ["evil.example#", "evil.example/x?", "acct@evil", "AB", "a" * 25])
def test_an_account_name_that_reshapes_the_url_is_refused(account: str) -> None:
    store = AzureDataLakeGen2Datastore(name="lake", account_name=account, filesystem="fs")
    with pytest.raises(DataUnavailable) as err:
        storage_location(store, WS)
    assert f"names storage account {account!r}: not a storage account name" in str(err.value)


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        (None, "https://acct1.blob.core.windows.net"),
        ("core.usgovcloudapi.net", "https://acct1.blob.core.usgovcloudapi.net"),
        ("Core.ChinaCloudAPI.cn", "https://acct1.blob.core.chinacloudapi.cn"),
    ],
)
def test_the_azure_clouds_are_read(endpoint: str | None, url: str) -> None:
    store = AzureBlobDatastore(name="blobs", account_name="acct1", container_name="c", endpoint=endpoint)
    assert storage_location(store, WS).account_url == url
