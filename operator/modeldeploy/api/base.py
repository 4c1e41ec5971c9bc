"""The base of every API model: camelCase aliases, no unknown fields, and CEL rules checked in Python too.

A cross-field rule is written once, as a method decorated with :func:`cel`. The decorator records the CEL
expression and message for the CRD's ``x-kubernetes-validations``; the method itself is the Python twin that
pydantic runs after validation. So the apiserver and the operator reject the same objects with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

_Check = TypeVar("_Check", bound=Callable[[Any], bool])


@dataclass(frozen=True)
class CelRule:
    """One ``x-kubernetes-validations`` entry."""

    rule: str
    message: str
    field_path: str | None = None

    def to_schema(self) -> dict[str, str]:
        out = {"rule": self.rule, "message": self.message}
        if self.field_path:
            out["fieldPath"] = self.field_path
        return out


def cel(rule: str, message: str, *, field_path: str | None = None) -> Callable[[_Check], _Check]:
    """Mark a ``(self) -> bool`` method as the Python twin of a CEL rule on the same model."""

    def mark(check: _Check) -> _Check:
        check.__cel_rule__ = CelRule(" ".join(rule.split()), message, field_path)  # type: ignore[attr-defined]
        return check

    return mark


def immutable(label: str) -> dict[str, Any]:
    """``json_schema_extra`` for a field the apiserver must refuse to change (a transition rule)."""
    message = f"{label} is immutable: create a new ModelDeployment to change it"
    return {"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": message}]}


_RULES: dict[type, list[tuple[CelRule, Callable[[Any], bool]]]] = {}


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", validate_default=True
    )

    @classmethod
    def cel_rules(cls) -> list[tuple[CelRule, Callable[[Any], bool]]]:
        """Rules declared on this class and its bases, in declaration order (found once per class: every
        validated instance asks, and walking the class tree each time was most of a spec's parse time)."""
        cached = _RULES.get(cls)
        if cached is not None:
            return cached
        found: dict[str, tuple[CelRule, Callable[[Any], bool]]] = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                rule = getattr(attr, "__cel_rule__", None)
                if isinstance(rule, CelRule):
                    found[name] = (rule, attr)
        rules = _RULES[cls] = list(found.values())
        return rules

    @model_validator(mode="after")
    def _check_cel_rules(self) -> Self:
        failed = [rule.message for rule, check in type(self).cel_rules() if not check(self)]
        if failed:
            raise ValueError("; ".join(failed))
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(schema)
        rules = [rule.to_schema() for rule, _ in cls.cel_rules()]
        if rules:
            resolved["x-kubernetes-validations"] = rules
        # pydantic leaves factory defaults out of the JSON schema; the apiserver must fill the same values.
        for name, info in cls.model_fields.items():
            if info.default_factory is not None and info.annotation is not None:
                key = info.alias or name
                factory_value = info.default_factory()  # type: ignore[call-arg]
                default = TypeAdapter[Any](info.annotation).dump_python(
                    factory_value, mode="json", by_alias=True, exclude_none=True
                )
                resolved["properties"][key]["default"] = default
        return schema

    @model_validator(mode="after")
    def _check_list_keys(self) -> Self:
        # The apiserver enforces unique keys of list-type maps itself; the Python side must agree.
        for name, info in type(self).model_fields.items():
            extra = info.json_schema_extra
            if not isinstance(extra, dict) or extra.get("x-kubernetes-list-type") != "map":
                continue
            seen: set[object] = set()
            for item in getattr(self, name):
                key = getattr(item, "name", item)
                if key in seen:
                    raise ValueError(f"{info.alias or name}: duplicate name {key!r}; names must be unique")
                seen.add(key)
        return self

    def to_manifest(self) -> dict[str, Any]:
        """The camelCase form the apiserver stores (unset optionals left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
