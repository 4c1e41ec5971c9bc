"""pydantic JSON Schema -> Kubernetes structural OpenAPI v3 schema.

Kubernetes wants every node typed, no ``$ref``, no ``anyOf`` except the int-or-string idiom, and bounded
strings, lists and maps wherever CEL rules run (the apiserver rejects rules whose worst-case cost is too
high). The converter inlines references, drops ``null`` alternatives (an absent field is how Kubernetes says
"unset"), turns key constraints of maps into CEL, and refuses what it cannot express instead of guessing.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Keys copied unchanged; anything else in the input is an error, so no constraint is ever silently lost.
_PASSTHROUGH = {
    "type", "description", "default", "enum", "format", "pattern", "minimum", "maximum", "minLength",
    "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "required",
    "x-kubernetes-validations", "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
    "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
}  # fmt: skip
_DROPPED = {"title", "additionalProperties", "properties", "items", "$ref", "anyOf", "const", "propertyNames"}
_DROPPED |= {"exclusiveMinimum", "exclusiveMaximum", "$defs"}


# A field the operator fills from the platform handoff (api/handoff.py) when the spec leaves it out: required
# by the Python model (which validates the filled spec), optional in the CRD (which admits the written one).
PLATFORM_DEFAULT = "x-kdap-platform-default"


class SchemaError(ValueError):
    """The model has a shape a structural schema cannot carry; the message names the path."""


def to_structural(schema: Schema, *, bounded: bool = True) -> Schema:
    """Convert a pydantic ``model_json_schema()`` document. With ``bounded``, every string needs maxLength
    (or an enum), every list maxItems and every map maxProperties, so CEL cost estimates stay in budget."""
    return _convert(schema, schema.get("$defs", {}), "", bounded)


def _convert(node: Schema, defs: Schema, path: str, bounded: bool) -> Schema:
    node = _resolve(node, defs, path)
    unknown = set(node) - _PASSTHROUGH - _DROPPED
    if unknown:
        raise SchemaError(f"{path or '<root>'}: unsupported JSON Schema keys {sorted(unknown)}")
    out: Schema = {k: v for k, v in node.items() if k in _PASSTHROUGH}
    if "const" in node:
        out["enum"] = [node["const"]]
    _exclusive_bounds(node, out)
    if out.get("default", 0) is None:
        del out["default"]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        return out
    kind = out.get("type")
    if kind is None:
        raise SchemaError(f"{path or '<root>'}: no type (a union or Any?); give the field a concrete type")
    if kind == "object":
        _object(node, out, defs, path, bounded)
    elif kind == "array":
        out["items"] = _convert(node["items"], defs, f"{path}[]", bounded)
        if bounded and "maxItems" not in out:
            raise SchemaError(f"{path}: list without max_length; CEL cost estimates need maxItems")
    elif kind == "string" and bounded and not ({"maxLength", "enum"} & out.keys()):
        raise SchemaError(f"{path}: string without max_length; CEL cost estimates need maxLength")
    return out


def _resolve(node: Schema, defs: Schema, path: str) -> Schema:
    """Inline ``$ref`` and the optional idiom ``anyOf: [X, null]``, keeping sibling keys (they win)."""
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) != 1:
            raise SchemaError(f"{path}: unions other than Optional[X] cannot be structural")
        siblings = {k: v for k, v in node.items() if k != "anyOf"}
        node = _merge(_resolve(options[0], defs, path), siblings)
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = _merge(_resolve(target, defs, path), siblings)
    return node


def _merge(base: Schema, extra: Schema) -> Schema:
    merged = {**base, **extra}
    rules = base.get("x-kubernetes-validations", []) + extra.get("x-kubernetes-validations", [])
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _exclusive_bounds(node: Schema, out: Schema) -> None:
    # JSON Schema 2020-12 numbers -> OpenAPI 3.0 booleans.
    if "exclusiveMinimum" in node:
        out["minimum"], out["exclusiveMinimum"] = node["exclusiveMinimum"], True
    if "exclusiveMaximum" in node:
        out["maximum"], out["exclusiveMaximum"] = node["exclusiveMaximum"], True


def _object(node: Schema, out: Schema, defs: Schema, path: str, bounded: bool) -> None:
    if "properties" in node:
        prefix = f"{path}." if path else ""
        defaulted = {name for name, prop in node["properties"].items() if prop.get(PLATFORM_DEFAULT)}
        out["properties"] = {
            name: _convert(
                {k: v for k, v in prop.items() if k != PLATFORM_DEFAULT}, defs, f"{prefix}{name}", bounded
            )
            for name, prop in node["properties"].items()
        }
        if defaulted:
            out["required"] = [name for name in out.get("required", []) if name not in defaulted]
        if not out.get("required"):
            out.pop("required", None)
        return
    values = node.get("additionalProperties")
    if isinstance(values, dict):
        out["additionalProperties"] = _convert(values, defs, f"{path}[*]", bounded)
        if bounded and "maxProperties" not in out:
            raise SchemaError(f"{path}: map without max_length; CEL cost estimates need maxProperties")
        _key_rules(node.get("propertyNames", {}), out, path)
    elif not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaError(f"{path}: free-form object; give it a model or mark it preserve-unknown-fields")


def _key_rules(keys: Schema, out: Schema, path: str) -> None:
    """Kubernetes has no propertyNames: express allowed map keys as a CEL rule."""
    if "enum" in keys or "const" in keys:
        allowed = keys.get("enum") or [keys["const"]]
        listed = ", ".join(f"'{k}'" for k in allowed)
        out.setdefault("x-kubernetes-validations", []).append(
            {"rule": f"self.all(k, k in [{listed}])", "message": f"{path} keys must be among {listed}"}
        )
    if "maxLength" in keys:
        out.setdefault("x-kubernetes-validations", []).append(
            {"rule": f"self.all(k, size(k) <= {keys['maxLength']})", "message": f"{path} keys are too long"}
        )
