"""The platform's handoff, read from the ConfigMap infra/ publishes beside the operator.

One GET per ``ttl`` at most, whatever the number of ModelDeployments, and only while an Azure ML or
serverless target asks (api/handoff.py decides what it fills). A missing, unreadable or malformed ConfigMap
is an empty handoff: specs that write every field keep working, and those that do not are told which field
is missing and why the platform did not provide it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from modeldeploy.api.handoff import Handoff, apply_platform_defaults
from modeldeploy.api.platform import HANDOFF_CONFIGMAP, HANDOFF_KEY, HANDOFF_NAMESPACE
from modeldeploy.api.spec import ModelDeploymentSpec

log = logging.getLogger(__name__)

DEFAULT_CONFIGMAP = f"{HANDOFF_NAMESPACE}/{HANDOFF_CONFIGMAP}"
DEFAULT_TTL = 30.0


class HandoffReader:
    """``reader()`` -> the current handoff (empty when unreadable), cached ``ttl`` seconds; thread-safe."""

    def __init__(
        self,
        read: Callable[[str, str], Any],
        where: str = DEFAULT_CONFIGMAP,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        namespace, sep, name = where.partition("/")
        if not sep or not namespace or not name:
            raise ValueError(f"{where!r}: name the ConfigMap as namespace/name")
        self.namespace, self.name = namespace, name
        self.source = f"ConfigMap {namespace}/{name}"
        self._read, self._ttl, self._clock = read, ttl, clock
        self._lock = threading.Lock()
        self._cached: tuple[float, Handoff] | None = None
        self._last_problem: str | None = None

    @classmethod
    def over(cls, api: client.ApiClient, where: str = DEFAULT_CONFIGMAP) -> HandoffReader:
        core = client.CoreV1Api(api)
        return cls(lambda ns, name: core.read_namespaced_config_map(name, ns), where)

    def __call__(self) -> Handoff:
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._ttl:
                return self._cached[1]
            handoff = self._load()
            self._cached = (now, handoff)
            return handoff

    def _load(self) -> Handoff:
        try:
            cm = self._read(self.namespace, self.name)
        except ApiException as exc:
            return self._problem(f"{self.source} could not be read ({exc.status} {exc.reason})")
        data = getattr(cm, "data", None) or {}
        text = data.get(HANDOFF_KEY)
        if not isinstance(text, str):
            return self._problem(f"{self.source} has no {HANDOFF_KEY}")
        try:
            doc = json.loads(text)
        except ValueError as exc:
            return self._problem(f"{self.source}: {HANDOFF_KEY} is not JSON ({exc})")
        if not isinstance(doc, dict):
            return self._problem(f"{self.source}: {HANDOFF_KEY} is not a JSON object")
        self._last_problem = None
        return Handoff.parse(self.source, doc)

    def _problem(self, message: str) -> Handoff:
        """An empty handoff whose source says what went wrong: a spec missing a field is told why."""
        if message != self._last_problem:  # said once per change, not once per reconcile
            log.warning("platform handoff: %s", message)
            self._last_problem = message
        return Handoff(message)


def resolved_spec(
    handoff: Callable[[], Handoff | None] | None,
    namespace: str,
    name: str,
    body: Mapping[str, Any],
    pinned: Mapping[str, str] | None,
) -> tuple[ModelDeploymentSpec, dict[str, str]]:
    """The spec with the platform's defaults filled in (api/handoff.py), and the pins to keep. The handoff is
    read only for an Azure ML or serverless target (one cached GET per TTL for all of them)."""
    raw = body.get("spec") or {}
    target = raw.get("target")
    in_azure = isinstance(target, Mapping) and target.get("type") in ("azureml", "serverless")
    current = handoff() if in_azure and handoff else None
    filled, pins = apply_platform_defaults(namespace, name, raw, pinned or {}, current)
    return ModelDeploymentSpec.model_validate(filled), pins
