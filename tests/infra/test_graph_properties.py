"""Generated configs: whatever the toggles and endpoints, the graph holds exactly what the config asks for."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdap_infra.config import parse_config
from kdap_infra.testing import run_config
from tests.infra.configs import minimal
from tests.infra.test_graph import custom_counts, expected_counts

endpoint_names = st.from_regex(r"[a-z][a-z0-9]{2,15}", fullmatch=True)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    env = draw(st.sampled_from(["dev", "prod"]))
    names = draw(st.lists(endpoint_names, min_size=1, max_size=4, unique=True))
    apim = {"publisherEmail": "p@x.io", "publisherName": "k", "audience": "api://k"}
    apim["sku"] = "Premium" if env == "prod" else draw(st.sampled_from(["Developer", "Premium"]))
    aks = draw(st.booleans())
    return minimal(
        env=env,
        endpoints=[{"name": n} for n in names],
        apim=apim,
        aks={"enabled": aks},
        workspace={"customerManagedKey": draw(st.booleans()), "hbi": draw(st.booleans())},
        aiServices={"enabled": draw(st.booleans())},
        serverless={"enabled": draw(st.booleans())},
        network={"enabled": True}
        if env == "prod" or (apim["sku"] == "Premium" and draw(st.booleans()))
        else {},
    )


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_graph_follows_config(raw: dict[str, Any]) -> None:
    config = parse_config(raw)
    run = run_config(config)
    assert custom_counts(run) == expected_counts(run)
    apis = {r.inputs["apiId"] for r in run.of_type("azure-native:apimanagement:Api")}
    llm = {f"llm-{config.serverless.name}"} if config.serverless.enabled else set()
    assert apis == {e.name for e in config.endpoints} | llm
    urns = [r.urn for r in run.resources]
    assert len(urns) == len(set(urns))
