"""Deterministic revision names: ``<deployment>-<hash10>`` of what a revision serves.

Only the parts that change what answers a request (model, code, environment, target settings) go into the
hash; strategy, analysis and autoscaling do not, so editing them never restarts a rollout. Names are
DNS-1035 labels (they become Deployment and Service names) of at most 63 characters; Azure ML deployment
names allow 3-32 characters, so a short form of at most 32 is provided too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HASH_LENGTH = 10
MAX_NAME = 63
MAX_SHORT_NAME = 32
_INVALID = re.compile(r"[^a-z0-9-]+")


def spec_hash(serving: Mapping[str, Any]) -> str:
    """A hex digest of the serving parts, independent of key order and of whitespace."""
    canonical = json.dumps(serving, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _label_prefix(deployment: str, room: int) -> str:
    """``deployment`` as the start of a DNS-1035 label, at most ``room`` characters."""
    prefix = _INVALID.sub("-", deployment.lower()).strip("-")
    if not prefix or not prefix[0].isalpha():
        prefix = "m" + prefix
    return prefix[:room].rstrip("-") or "m"


def revision_name(deployment: str, digest: str, limit: int = MAX_NAME) -> str:
    """``<deployment>-<hash10>``, the deployment part cut so the whole name fits ``limit``."""
    if limit < HASH_LENGTH + 2:
        raise ValueError(f"a revision name needs at least {HASH_LENGTH + 2} characters, limit is {limit}")
    return f"{_label_prefix(deployment, limit - HASH_LENGTH - 1)}-{digest[:HASH_LENGTH]}"


@dataclass(frozen=True)
class DesiredRevision:
    """The revision the spec in Git asks for."""

    name: str
    short_name: str
    spec_hash: str
    model_version: str = ""
    model_ref: str = ""  # the registered version, when its stages are tagged (model.tagStages)

    @classmethod
    def of(
        cls, deployment: str, serving: Mapping[str, Any], model_version: str = "", model_ref: str = ""
    ) -> DesiredRevision:
        digest = spec_hash(serving)
        return cls(
            name=revision_name(deployment, digest),
            short_name=revision_name(deployment, digest, MAX_SHORT_NAME),
            spec_hash=digest,
            model_version=model_version,
            model_ref=model_ref,
        )
