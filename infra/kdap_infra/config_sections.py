"""What every section of the stack config shares: its base model, the namespace and the common field types.

Each section lives beside the component that reads it (`<component>_config.py`, kept free of Pulumi so that
validating a config loads no provider); `config.PlatformConfig` composes them.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

NAMESPACE = "kdap-platform"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


Email = Annotated[str, AfterValidator(_email)]


class Section(BaseModel):
    """camelCase keys as in Pulumi.<stack>.yaml; unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)
