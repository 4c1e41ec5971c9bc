"""azureml:// data URIs: the datastore is looked up with azure-ai-ml (faked at ``MLClient.datastores``,
answering the SDK's real entity classes, and once through the real SDK over a fake HTTP transport), then read
through the Blob API; lookups are cached per workspace and their failures make the analysis Inconclusive."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import yaml
from azure.ai.ml.entities import (
    AzureBlobDatastore,
    AzureDataLakeGen1Datastore,
    AzureDataLakeGen2Datastore,
    AzureFileDatastore,
    Datastore,
)
from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError
from azure.core.pipeline.transport import HttpResponse, HttpTransport

from modeldeploy.analysis.datastores import AzureMLDatastores, StorageLocation, Workspace, ml_datastores
from modeldeploy.analysis.service import AnalysisService
from modeldeploy.analysis.sources import DataUnavailable
from modeldeploy.analysis.uris import Locator, Unavailable, source_for
from modeldeploy.api.azure_names import deployment_name
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import Verdict
from modeldeploy.ports import Owner
from modeldeploy.rollout.actions import RunAnalysis
from tests.analysis.blob_fakes import Containers, FakeContainer, parquet_bytes
from tests.backends.azureml.rig import EXAMPLES, example_manifest

SUB = "00000000-0000-0000-0000-000000000000"
WS = Workspace(SUB, "kdap-prod-rg", "kdap-prod-mlw")  # the examples' names: infra's prod naming
OTHER = Workspace("11111111-1111-1111-1111-111111111111", "rg-training", "mlw-training")
BLOB_ACCOUNT = "https://mlwkdapprod4711.blob.core.windows.net"
REF = pa.table({"x": [1.0, 2.0, 3.0]})


class FakeDatastores:
    """``MLClient(...).datastores`` of one workspace: ``get`` answers azure-ai-ml's own entity classes."""

    def __init__(self, found: Mapping[str, Datastore], failures: list[Exception] | None = None) -> None:
        self.found, self.failures = dict(found), list(failures or [])
        self.gets: list[str] = []

    def get(self, name: str, *, include_secrets: bool = False) -> Datastore:
        self.gets.append(name)
        if self.failures:
            raise self.failures.pop(0)
        if name not in self.found:
            raise ResourceNotFoundError(f"Datastore {name} not found")
        return self.found[name]


class Workspaces:
    """``operations_for``: the fake datastores of each workspace, recording which workspaces were asked."""

    def __init__(self, by_workspace: Mapping[Workspace, FakeDatastores]) -> None:
        self.by_workspace = {ws.key(): ops for ws, ops in by_workspace.items()}
        self.asked: list[Workspace] = []

    def __call__(self, workspace: Workspace, credential: Any) -> FakeDatastores:
        assert credential == "operator-credential"
        self.asked.append(workspace)
        return self.by_workspace[workspace.key()]


def _blob_store(name: str = "workspaceblobstore") -> AzureBlobDatastore:
    return AzureBlobDatastore(
        name=name, account_name="mlwkdapprod4711", container_name="azureml-blobstore-4711"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _resolver(workspaces: Workspaces, clock: Clock | None = None) -> AzureMLDatastores:
    return AzureMLDatastores("operator-credential", workspaces, ttl=600, clock=clock or Clock())


def _ref_container() -> FakeContainer:
    return FakeContainer({"anomaly-detector/reference/features.parquet": parquet_bytes(REF)})


def test_short_form_resolves_in_the_target_workspace() -> None:
    ops = FakeDatastores({"workspaceblobstore": _blob_store()})
    workspaces = Workspaces({WS: ops, OTHER: FakeDatastores({})})
    containers = Containers({(BLOB_ACCOUNT, "azureml-blobstore-4711"): _ref_container()})
    locator = Locator(WS, _resolver(workspaces), containers)
    uri = "azureml://datastores/workspaceblobstore/paths/anomaly-detector/reference/features.parquet"
    cols = source_for(uri, "parquet", locator=locator).load(None, None)
    assert list(cols["x"]) == [1.0, 2.0, 3.0]
    assert workspaces.asked == [WS]
    assert ops.gets == ["workspaceblobstore"]


def test_long_form_names_its_workspace_whatever_the_segment_case() -> None:
    lake = AzureDataLakeGen2Datastore(
        name="training_lake", account_name="kdaptrain", filesystem="curated", endpoint="core.chinacloudapi.cn"
    )
    workspaces = Workspaces({WS: FakeDatastores({}), OTHER: FakeDatastores({"training_lake": lake})})
    ref = FakeContainer({"budget/train.parquet": parquet_bytes(REF)})
    containers = Containers({("https://kdaptrain.blob.core.chinacloudapi.cn", "curated"): ref})
    uri = (
        f"azureml://subscriptions/{OTHER.subscription_id}/resourceGroups/RG-Training/Workspaces/mlw-training"
        "/datastores/training_lake/paths/budget/train.parquet"
    )
    cols = source_for(uri, "parquet", locator=Locator(WS, _resolver(workspaces), containers)).load(None, None)
    assert list(cols["x"]) == [1.0, 2.0, 3.0]
    assert [w.key() for w in workspaces.asked] == [OTHER.key()]  # not the target's workspace
    assert ref.downloads == ["budget/train.parquet"]


def test_resolved_datastores_are_cached_per_workspace_for_the_ttl() -> None:
    ops, other = (
        FakeDatastores({"workspaceblobstore": _blob_store()}),
        FakeDatastores({"workspaceblobstore": _blob_store()}),
    )
    workspaces = Workspaces({WS: ops, OTHER: other})
    clock = Clock()
    resolver = _resolver(workspaces, clock)
    first = resolver.resolve(WS, "workspaceblobstore")
    assert first == StorageLocation(BLOB_ACCOUNT, "azureml-blobstore-4711")
    shouted = Workspace(SUB, "KDAP-PROD-RG", "KDAP-PROD-MLW")  # ARM names are case-insensitive
    clock.now += 599
    assert resolver.resolve(shouted, "WorkspaceBlobStore") == first
    assert ops.gets == ["workspaceblobstore"]
    resolver.resolve(OTHER, "workspaceblobstore")
    assert other.gets == ["workspaceblobstore"]  # another workspace's datastore of the same name
    clock.now += 2
    resolver.resolve(WS, "workspaceblobstore")
    assert ops.gets == ["workspaceblobstore", "workspaceblobstore"]  # expired: asked again
    assert len(workspaces.asked) == 2  # one MLClient per workspace, kept


def test_a_failed_lookup_is_inconclusive_and_asked_again_next_time() -> None:
    ops = FakeDatastores(
        {"workspaceblobstore": _blob_store()},
        failures=[ServiceRequestError("management.azure.com unreachable")],
    )
    containers = Containers({(BLOB_ACCOUNT, "azureml-blobstore-4711"): _ref_container()})
    locator = Locator(WS, _resolver(Workspaces({WS: ops})), containers)
    uri = "azureml://datastores/workspaceblobstore/paths/anomaly-detector/reference/features.parquet"
    src = source_for(uri, "parquet", locator=locator)
    with pytest.raises(DataUnavailable) as err:
        src.load(None, None)
    assert str(err.value) == (
        "cannot resolve datastore 'workspaceblobstore' in workspace kdap-prod-mlw (resource group "
        f"kdap-prod-rg, subscription {SUB}): ServiceRequestError: management.azure.com unreachable"
    )
    assert list(src.load(None, None)["x"]) == [1.0, 2.0, 3.0]  # the same source, once Azure answers


def test_a_missing_datastore_names_it_and_the_workspace() -> None:
    locator = Locator(WS, _resolver(Workspaces({WS: FakeDatastores({})})), Containers({}))
    src = source_for("azureml://datastores/training/paths/x.parquet", "parquet", locator=locator)
    with pytest.raises(
        DataUnavailable, match=r"^cannot resolve datastore 'training' in workspace kdap-prod-mlw "
    ):
        src.load(None, None)


@pytest.mark.parametrize(
    ("datastore", "kind"),
    [
        (AzureFileDatastore(name="shares", account_name="kdapfiles", file_share_name="inputs"), "AzureFile"),
        (AzureDataLakeGen1Datastore(name="shares", store_name="kdapgen1"), "AzureDataLakeGen1"),
    ],
)
def test_file_share_and_gen1_datastores_are_refused(datastore: Datastore, kind: str) -> None:
    locator = Locator(WS, _resolver(Workspaces({WS: FakeDatastores({"shares": datastore})})), Containers({}))
    src = source_for("azureml://datastores/shares/paths/ref.csv", "csv", locator=locator)
    with pytest.raises(DataUnavailable) as err:
        src.load(None, None)
    assert str(err.value) == (
        f"datastore 'shares' in workspace kdap-prod-mlw (resource group kdap-prod-rg, subscription {SUB}) "
        f"is of type {kind}; the operator reads Azure Blob and ADLS Gen2 datastores only"
    )


def test_a_short_uri_without_a_workspace_says_what_to_use_instead() -> None:
    src = source_for(
        "azureml://datastores/collected/paths/budget-optimizer/model_inputs/", "jsonl", live=True
    )
    assert isinstance(src, Unavailable)
    assert "this ModelDeployment has none; use the long form azureml://subscriptions/<sub>/" in src.reason
    assert src.reason.endswith("or the datastore's abfss:// or https:// path")
    asset = source_for(
        "azureml://subscriptions/s/resourcegroups/rg/workspaces/w/data/ref/versions/3", "mltable"
    )
    assert isinstance(asset, Unavailable)
    assert asset.reason.startswith(
        "azureml://subscriptions/s/resourcegroups/rg/workspaces/w/data/ref/versions/3: not a datastore URI; "
        "the operator reads azureml://datastores/<datastore>/paths/<path> (in the azureml target's workspace)"
    )


# The real SDK: MLClient's datastores.get over a fake HTTP transport, so the REST shape, the kwargs the
# operator builds MLClient with and the entity the SDK deserializes are azure-ai-ml's own.


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", int(time.time()) + 3600)


class _Response(HttpResponse):
    def __init__(self, request: Any, status: int, body: dict[str, Any]) -> None:
        super().__init__(request, None)
        self.status_code, self._body = status, json.dumps(body).encode()
        self.headers = {"content-type": "application/json"}
        self.reason, self.content_type = ("OK" if status == 200 else "Not Found"), "application/json"

    def body(self) -> bytes:
        return self._body

    def json(self) -> Any:
        return json.loads(self._body)

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode()


class ArmTransport(HttpTransport):
    """Answers ARM's datastore GET from a table of REST bodies; 404 for anything else."""

    def __init__(self, datastores: Mapping[str, dict[str, Any]]) -> None:
        self.datastores, self.urls = dict(datastores), []

    def send(self, request: Any, **kwargs: Any) -> _Response:
        self.urls.append(request.url)
        name = request.url.split("?")[0].rsplit("/", 1)[-1]
        if request.method == "GET" and name in self.datastores:
            return _Response(request, 200, self.datastores[name])
        error = {"error": {"code": "UserError", "message": f"Datastore {name} not found"}}
        return _Response(request, 404, error)

    def open(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> ArmTransport:
        return self

    def __exit__(self, *args: Any) -> None: ...


def test_the_real_sdk_lookup_through_arm() -> None:
    rest = {
        "name": "workspaceblobstore",
        "type": "Microsoft.MachineLearningServices/workspaces/datastores",
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": "mlwkdapprod4711",
            "containerName": "azureml-blobstore-4711",
            "endpoint": "core.windows.net",
            "protocol": "https",
            "credentials": {"credentialsType": "None"},
        },
    }
    transport = ArmTransport({"workspaceblobstore": rest})
    resolver = AzureMLDatastores(_Token(), lambda ws, cred: ml_datastores(ws, cred, transport=transport))
    assert resolver.resolve(WS, "workspaceblobstore") == StorageLocation(
        BLOB_ACCOUNT, "azureml-blobstore-4711"
    )
    assert transport.urls[0].startswith(
        f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/kdap-prod-rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/kdap-prod-mlw/datastores/workspaceblobstore?api-version="
    )
    with pytest.raises(
        DataUnavailable, match=r"cannot resolve datastore 'training' .*: ResourceNotFoundError"
    ):
        resolver.resolve(WS, "training")


# The controller threads the azureml target's workspace into every data URI of the spec.

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
OWNER = Owner("ml-serving", "budget-optimizer", "5b0c1b9e-0000-4000-8000-000000000003")
REVISION = "budget-optimizer-3f2a9c1d7e"


def _budget_data(seed: int, spend_shift: float, n: int = 3000) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "daily_spend": rng.normal(100.0 + spend_shift, 10.0, size=n),
            "conversion_rate": rng.beta(2, 50, size=n),
            "channel": rng.choice(["search", "social", "display"], size=n).tolist(),
            "prediction": rng.normal(0.0, 1.0, size=n),
        }
    )


def _collector_hour(table: pa.Table) -> bytes:
    rows = table.to_pylist()
    return "".join(json.dumps({"data": rows[i : i + 50]}) + "\n" for i in range(0, len(rows), 50)).encode()


def test_the_runner_reads_the_examples_azureml_uris_in_the_target_workspace() -> None:
    """examples/azureml-budget-optimizer.yaml as written: short azureml:// URIs, the live side a collector
    folder read by hour."""
    spec = ModelDeploymentSpec.model_validate(example_manifest("budget-optimizer")["spec"])
    assert spec.target.azureml is not None
    endpoint = spec.target.azureml.endpoint_name
    STABLE = f"{endpoint}/budget-optimizer-0000000000"
    # {endpoint}/{deployment}: the collector's folder for the revision under analysis, not its neighbour's
    live = f"{endpoint}/{deployment_name(REVISION)}/model_inputs"  # under modelDataCollector/
    blobs = {
        "budget-optimizer/reference/train.parquet": parquet_bytes(_budget_data(1, 0.0)),
        f"modelDataCollector/{live}/2025/03/03/09/a.jsonl": _collector_hour(_budget_data(2, 30.0)),
        f"modelDataCollector/{live}/2025/03/02/09/a.jsonl": b"yesterday: outside the window, never read",
        f"modelDataCollector/{STABLE}/model_inputs/2025/03/03/09/a.jsonl": b"the stable revision's rows",
    }
    container = FakeContainer(blobs)
    workspaces = Workspaces({WS: FakeDatastores({"workspaceblobstore": _blob_store()})})
    runner = AnalysisService(
        providers_for=lambda _: {},
        drift_metrics=_NoMetrics(),
        datastores=_resolver(workspaces),
        make_client=Containers({(BLOB_ACCOUNT, "azureml-blobstore-4711"): container}),
    )
    assert spec.analysis is not None
    spec = spec.model_copy(update={"analysis": spec.analysis.model_copy(update={"metrics": []})})
    record = runner.run(OWNER, spec, RunAnalysis(REVISION, None, 0, NOW - timedelta(minutes=10)), NOW)
    assert record.verdict is not Verdict.INCONCLUSIVE, record.message
    verdicts = {d.feature: d.verdict for d in record.drift}
    assert verdicts["daily_spend"] is Verdict.FAILED  # the live daily spend moved by 3 sigma
    assert verdicts["conversion_rate"] is Verdict.SUCCESSFUL
    assert workspaces.asked == [Workspace(WS.subscription_id, "kdap-prod-rg", "kdap-prod-mlw")]
    assert container.downloads == [
        "budget-optimizer/reference/train.parquet",
        f"modelDataCollector/{live}/2025/03/03/09/a.jsonl",
    ]


def test_a_kubernetes_target_with_short_azureml_uris_is_inconclusive_with_the_way_out(tmp_path: Path) -> None:
    manifest: dict[str, Any] = yaml.safe_load((EXAMPLES / "budget-optimizer-canary.yaml").read_text())["spec"]
    drift = manifest["analysis"]["drift"]
    drift["reference"]["uri"] = "azureml://datastores/training/paths/train.parquet"
    drift["live"]["uri"] = "azureml://datastores/collected/paths/budget-optimizer/model_inputs/"
    del manifest["analysis"]["metrics"]
    spec = ModelDeploymentSpec.model_validate(manifest)
    runner = AnalysisService(providers_for=lambda _: {}, drift_metrics=_NoMetrics())
    record = runner.run(OWNER, spec, RunAnalysis(REVISION, None, 0, NOW - timedelta(minutes=10)), NOW)
    assert record.verdict is Verdict.INCONCLUSIVE
    assert record.message.startswith(
        "drift not evaluated: azureml://datastores/training/paths/train.parquet: a short "
        "azureml://datastores/ URI is resolved in the azureml target's workspace, and this ModelDeployment "
        "has none; use the long form"
    )


class _NoMetrics:
    def publish(self, points: Any) -> None: ...
