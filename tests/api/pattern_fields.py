"""Every ``pattern`` of the generated CRDs, with the Python validation of the same field, and the strings to
judge them on: valid ones from the pattern and near-misses around them.

The apiserver checks a pattern with Go's RE2; the operator with pydantic-core, which compiles a field's
``pattern`` with Rust's ``regex`` crate and asks ``is_match``. The Python side here is that exact validator:
the field's own core schema leaf (found by walking the model's core schema along the CRD path), compiled by
``SchemaValidator`` with the model's config, as pydantic does when it builds the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic_core import SchemaValidator

from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import ModelDeploymentSpec

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
ROOTS: dict[str, type[BaseModel]] = {
    "ModelDeployment": ModelDeploymentSpec,
    "ModelDeploymentPolicy": ModelDeploymentPolicySpec,
}
Schema = dict[str, Any]


@dataclass(frozen=True)
class PatternField:
    path: str  # Kind.spec.a.b[].c, [] an array's items, {} a map's values
    pattern: str
    min_length: int | None
    max_length: int | None
    python: Callable[[str], bool] = field(compare=False, repr=False)

    @property
    def constraint(self) -> tuple[str, int | None, int | None]:
        """What the apiserver judges a value of this field by (one probe property per distinct one)."""
        return self.pattern, self.min_length, self.max_length


def _crd_strings(schema: Schema, path: str) -> Iterator[tuple[str, Schema]]:
    if "pattern" in schema:
        yield path, schema
    for name, prop in (schema.get("properties") or {}).items():
        yield from _crd_strings(prop, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _crd_strings(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _crd_strings(schema["additionalProperties"], f"{path}{{}}")


# Wrappers whose inner schema is what a value of the field is validated by (after defaults, Optional, the
# models' after-validators).
_WRAPPERS = ("default", "nullable", "function-after", "function-before", "function-wrap")


def _leaves(
    schema: Schema, steps: list[str], defs: dict[str, Schema], config: Any, out: list[tuple[Schema, Any]]
) -> None:
    kind = schema["type"]
    if kind == "definitions":
        defs = {**defs, **{d["ref"]: d for d in schema["definitions"]}}
        _leaves(schema["schema"], steps, defs, config, out)
    elif kind == "definition-ref":
        _leaves(defs[schema["schema_ref"]], steps, defs, config, out)
    elif kind == "model":
        _leaves(schema["schema"], steps, defs, schema.get("config", config), out)
    elif kind in _WRAPPERS and "schema" in schema:
        _leaves(schema["schema"], steps, defs, config, out)
    elif kind == "union":
        for choice in schema["choices"]:
            _leaves(choice[0] if isinstance(choice, tuple) else choice, steps, defs, config, out)
    elif kind == "tagged-union":
        for choice in schema["choices"].values():
            _leaves(choice, steps, defs, config, out)
    elif not steps:
        out.append((schema, config))
    elif kind == "model-fields":
        for name, f in schema["fields"].items():
            if steps[0] in (name, f.get("validation_alias")):
                _leaves(f["schema"], steps[1:], defs, config, out)
    elif kind == "list" and steps[0] == "[]":
        _leaves(schema["items_schema"], steps[1:], defs, config, out)
    elif kind == "dict" and steps[0] == "{}":
        _leaves(schema["values_schema"], steps[1:], defs, config, out)


def python_leaves(path: str) -> list[tuple[Schema, Any]]:
    """The core schema leaves (with their model's config) that validate the field at a CRD path."""
    kind, rest = path.split(".", 1)
    steps = re.findall(r"[^.\[\]{}]+|\[\]|\{\}", rest.removeprefix("spec."))
    out: list[tuple[Schema, Any]] = []
    _leaves(dict(ROOTS[kind].__pydantic_core_schema__), steps, {}, None, out)
    return out


def _validator(path: str) -> Callable[[str], bool]:
    leaves = python_leaves(path)
    if len(leaves) != 1:
        raise AssertionError(f"{path}: {len(leaves)} Python validators for one CRD field")
    validator = SchemaValidator(*leaves[0])
    return lambda value: bool(validator.isinstance_python(value))


def pattern_fields() -> list[PatternField]:
    fields = []
    for crd_file in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(crd_file.read_text())
        for version in crd["spec"]["versions"]:
            root = version["schema"]["openAPIV3Schema"]
            for path, node in _crd_strings(root, crd["spec"]["names"]["kind"]):
                fields.append(
                    PatternField(
                        path, node["pattern"], node.get("minLength"), node.get("maxLength"), _validator(path)
                    )
                )
    return fields


# Characters a near-miss puts in: ASCII, whitespace RE2 and Unicode disagree on (\v, NEL, NBSP, U+2028),
# controls, Unicode letters and digits a Unicode class admits and an ASCII one does not, and the case-fold
# partners of ASCII letters (long s, Kelvin sign, dotted/dotless i) that decide what (?i) admits. Escaped, as
# they look like ASCII.
ODD = [
    *"aZ09-_./:@%*$~+ ", "\t", "\n", "\r", "\f", "\v", "\x00", "\x01", "\x1b", "\x7f", "\x85", "\xa0",
    "\u00e9", "\u00df", "\u017f", "\u212a", "\u0130", "\u0131", "\u03a3", "\u03c2", "\uff11", "\u0663",
    "\u07c0", "\u2028", "\u3000", "\ufeff", "\U0001f600",
]  # fmt: skip
INSERTED = st.one_of(st.sampled_from(ODD), st.characters(exclude_categories=["Cs"]))  # no lone surrogates
MUTATIONS = ("replace", "insert", "delete", "prefix", "suffix", "newline", "at-max", "over-max", "empty")


def _near_miss(value: str, max_length: int | None, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(MUTATIONS))
    char = data.draw(INSERTED)
    at = data.draw(st.integers(0, max(len(value) - 1, 0)))
    if kind == "replace":
        return value[:at] + char + value[at + 1 :]
    if kind == "insert":
        return value[:at] + char + value[at:]
    if kind == "delete":
        return value[1:] if data.draw(st.booleans()) else value[:-1]
    if kind == "prefix":
        return char + value
    if kind == "suffix":
        return value + char
    if kind == "newline":  # Python's re reads $ as "end, or before a final newline"; RE2 and Rust do not
        return value + "\n"
    if kind in ("at-max", "over-max") and max_length and value:
        size = max_length + (kind == "over-max")
        long = (value + value[-1] * size)[:size]
        if data.draw(st.booleans()):  # one character changed, so the limit is met with a multibyte one too
            long = long[: at % size] + char + long[at % size + 1 :]
        return long
    return ""


def candidates(pattern: str, max_length: int | None, examples: int) -> list[str]:
    """``examples`` draws, each a valid string and a near-miss of it; the same list on every run."""
    out: list[str] = []
    valid = st.from_regex(pattern)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        value = data.draw(valid)
        out.extend([value, _near_miss(value, max_length, data)])

    draw()
    return list(dict.fromkeys(out))  # the first of duplicates, in order


def sweep(valid: list[str], max_length: int | None) -> list[str]:
    """Left to no draw: each odd character once, in place of one character of a valid string, and the longest
    valid string stretched to the length bound and one past it (ending in ASCII, then in a multibyte char)."""
    bases = [v for v in valid if v]
    if not bases:
        return []
    out = []
    for k, char in enumerate(ODD):
        base = bases[k % len(bases)]
        at = (k * 7919) % len(base)  # a large prime spreads the positions over the string
        out.append(base[:at] + char + base[at + 1 :])
    if max_length:
        longest = max(bases, key=len)
        for size in (max_length, max_length + 1):
            stretched = (longest + longest[-1] * size)[:size]
            out += [stretched, stretched[:-1] + "\u00e9"]
    return out
