"""The serverless target's API: what parses, what the gateway routes a version as, and the route table's
format (the contract the APIM policy in infra/ parses)."""

from __future__ import annotations

import pytest

from modeldeploy.api import ModelDeploymentSpec, platform
from modeldeploy.api.serverless import adapter_version, routed_adapter_id
from tests.api.mdep_cases import serverless_canary


def test_the_serverless_base_parses_with_no_replicas_to_scale() -> None:
    spec = ModelDeploymentSpec.model_validate(serverless_canary())
    target = spec.target.serverless
    assert target is not None
    assert (target.endpoint_name, target.adapter, target.gateway.service) == (
        "llama-31-8b",
        "coding",
        "kdap-apim",
    )
    assert spec.replica_bounds() == (0, 0)
    assert spec.to_manifest()["target"]["serverless"]["gateway"]["resourceGroup"] == "rg-kdap"


@pytest.mark.parametrize(
    ("ref", "parsed", "routed"),
    [
        (
            "azureml://registries/kdap-models/models/coding-lora/versions/4",
            ("kdap-models", "coding-lora", "4"),
            "coding-lora:4",
        ),
        ("azureml:coding-lora:12", (None, "coding-lora", "12"), "coding-lora:12"),
    ],
)
def test_a_revision_is_routed_as_the_registered_adapter_version(
    ref: str, parsed: tuple[str | None, str, str], routed: str
) -> None:
    assert adapter_version(ref) == parsed
    assert routed_adapter_id(ref) == routed


def test_a_reference_that_is_not_a_registered_model_is_refused() -> None:
    with pytest.raises(ValueError, match="neither azureml:name:version"):
        adapter_version("https://example.com/coding.safetensors")


def test_route_table_round_trips_and_names_its_owner() -> None:
    live = [("coding-aaa", "coding-lora:3", 90), ("coding-bbb", "coding-lora:4", 10)]
    text = platform.encode_routes("team-a/coding", live, ("coding-ccc", "coding-lora:5", 20))
    assert text == (
        "owner|team-a/coding,coding-aaa|coding-lora:3|90,coding-bbb|coding-lora:4|10,"
        "mirror|coding-ccc|coding-lora:5|20"
    )
    assert platform.decode_routes(text) == ("team-a/coding", live, ("coding-ccc", "coding-lora:5", 20))
    assert platform.decode_routes(platform.ADAPTER_ROUTES_UNROUTED) == (None, [], None)
    assert platform.adapter_routes_name("llama-31-8b", "coding") == "llama-31-8b-adapter-coding"


@pytest.mark.parametrize("text", ["owner|a/b,rev|id", "rev|id|ninety", "mirror|rev|id", "{json: true}"])
def test_a_hand_edited_table_is_refused_not_half_read(text: str) -> None:
    with pytest.raises(ValueError, match="is not revision\\|adapter-id\\|weight"):
        platform.decode_routes(text)


def test_a_table_over_the_named_value_limit_is_refused() -> None:
    live = [(f"rev-{i:04d}", f"adapter:{i}", 0) for i in range(400)]
    with pytest.raises(ValueError, match="over APIM's 4096"):
        platform.encode_routes("ns/name", live)
