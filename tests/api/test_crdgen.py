"""The committed CRD is exactly what the models generate, and the generated schema is structural."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from modeldeploy.api import crdgen
from modeldeploy.api.structural import SchemaError, to_structural

_FORBIDDEN = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "const", "title", "propertyNames"}


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, prop in schema.get("properties", {}).items():
        yield from _nodes(prop, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}[*]")


def _root() -> dict[str, Any]:
    root: dict[str, Any] = crdgen.crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return root


def test_committed_crd_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    code = crdgen.main(["--check"])
    assert code == 0, capsys.readouterr().out


def test_check_reports_a_stale_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    stale = tmp_path / "crd.yaml"
    stale.write_text(crdgen.render().replace("shortNames:\n    - mdep", "shortNames:\n    - md"))
    monkeypatch.setattr(crdgen, "CRD_PATH", stale)
    assert crdgen.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "-    - md\n+    - mdep" in out
    assert "make crds" in out


def test_schema_is_structural() -> None:
    for path, node in _nodes(_root()):
        assert not (_FORBIDDEN & node.keys()), f"{path}: {sorted(_FORBIDDEN & node.keys())}"
        assert node.get("additionalProperties") is not False, path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path}: untyped"
        if "properties" in node:
            assert "additionalProperties" not in node, path
        for rule in node.get("x-kubernetes-validations", []):
            assert rule["message"], path
            assert rule["rule"], path


def test_spec_is_bounded_for_cel_cost() -> None:
    for path, node in _nodes(_root()["properties"]["spec"], "spec"):
        kind = node.get("type")
        if kind == "string":
            assert "maxLength" in node or "enum" in node, path
        elif kind == "array":
            assert "maxItems" in node, path
        elif kind == "object" and "additionalProperties" in node:
            assert "maxProperties" in node, path


def test_names_columns_and_subresource() -> None:
    spec = crdgen.crd()["spec"]
    assert spec["group"] == "mlops.kdap.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["shortNames"] == ["mdep"]
    assert "kdap" in spec["names"]["categories"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"] if c.get("priority", 0) == 0]
    assert columns == ["Phase", "Ready", "Stable", "Serving", "Candidate", "Weight", "Age"]


def test_defaults_and_rules_reach_the_schema() -> None:
    spec = _root()["properties"]["spec"]["properties"]
    autoscaling = spec["autoscaling"]["properties"]
    assert autoscaling["targetCPUUtilization"]["default"] == 70
    assert autoscaling["scaleInDelay"]["default"] == "5m"
    assert spec["rollback"]["default"] == {"onDrift": True, "onMetricFailure": True, "failureLimit": 0}
    steps_rules = spec["strategy"]["properties"]["canary"]["x-kubernetes-validations"]
    assert any("isSorted()" in r["rule"] for r in steps_rules)
    assert spec["target"]["properties"]["type"]["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    threshold = spec["analysis"]["properties"]["drift"]["properties"]["driftedShareThreshold"]
    assert threshold["minimum"] == 0
    assert threshold["exclusiveMinimum"] is True


class _Unbounded(BaseModel):
    note: str


class _Union(BaseModel):
    value: int | list[int] = Field(max_length=3)


class _FreeForm(BaseModel):
    blob: dict[str, Any] = Field(max_length=3)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_Unbounded, "note: string without max_length"),
        (_Union, "value: unions other than Optional[X] cannot be structural"),
        (_FreeForm, "blob: free-form object; give it a model or mark it preserve-unknown-fields"),
    ],
)
def test_converter_refuses_what_it_cannot_express(model: type[BaseModel], message: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(message)):
        to_structural(model.model_json_schema())


def test_converter_unbounded_mode_allows_plain_strings() -> None:
    assert to_structural(_Unbounded.model_json_schema(), bounded=False)["properties"]["note"] == {
        "type": "string"
    }
