"""The policy gate: ModelDeploymentPolicies and namespace labels from watches, asked before every reconcile.

Both are cluster-scoped and few, so they are kept whole in memory and fed by kopf's watch events: a
reconcile asks no API server. One LIST of each at startup fills the caches before any worker runs, so the
first reconcile of each object is judged against every policy, never against a half-listed view (which
would flap an allowed object to SpecValid=False and back). A change returns the namespaces whose objects it
may affect, and the controller re-enqueues those.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from pydantic import ValidationError

from modeldeploy.api import GROUP, POLICY_PLURAL, VERSION
from modeldeploy.api.notifications import Subscription
from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.policy import Policy, Refusal, check, data_refusal, notification_refusal

log = logging.getLogger(__name__)

Mode = Literal["enforce", "off"]
MODES: tuple[Mode, ...] = ("enforce", "off")


class PolicyGate:
    """``refusals(namespace, name, spec)``: what the policies refuse (nothing when the mode is ``off``)."""

    def __init__(self, mode: Mode = "enforce") -> None:
        self.mode = mode
        self._lock = threading.Lock()
        self._policies: dict[str, Policy] = {}
        self._labels: dict[str, dict[str, str]] = {}

    @property
    def enforcing(self) -> bool:
        return self.mode == "enforce"

    def refusals(self, namespace: str, name: str, spec: ModelDeploymentSpec) -> list[Refusal]:
        if not self.enforcing:
            return []
        policies, labels = self._view(namespace)
        return check(spec, namespace, name, labels, policies)

    def uri_refusal(self, namespace: str, name: str, spec: ModelDeploymentSpec, uri: str) -> str | None:
        """For the analysis: one data URI found at run time (an MLTable's ``paths``)."""
        if not self.enforcing:
            return None
        policies, labels = self._view(namespace)
        return data_refusal(spec, namespace, name, labels, policies, uri)

    def notification_refusal(
        self, namespace: str, name: str, spec: ModelDeploymentSpec, url: str
    ) -> str | None:
        """For delivery: the receiver URL read from a subscription's Secret (its host must be granted)."""
        if not self.enforcing:
            return None
        policies, labels = self._view(namespace)
        return notification_refusal(spec, namespace, name, labels, policies, url)

    def notification_defaults(self, namespace: str) -> list[tuple[str, Sequence[Subscription]]]:
        """(policy name, its default subscriptions) of the policies selecting ``namespace``, by name. Known
        only while enforcing: with ``--policy off`` no policy is listed, so there are no defaults."""
        policies, labels = self._view(namespace)
        return [
            (p.name, p.spec.notifications.defaults)
            for p in sorted(policies, key=lambda p: p.name)
            if p.spec.notifications.defaults and p.spec.namespace_selector.matches(labels)
        ]

    def labels_of(self, namespace: str) -> dict[str, str]:
        """The namespace's labels as last watched (empty when unseen or with ``--policy off``)."""
        with self._lock:
            return dict(self._labels.get(namespace) or {})

    def _view(self, namespace: str) -> tuple[list[Policy], dict[str, str]]:
        with self._lock:
            # Kubernetes labels every namespace with its name; an unseen one still matches by name.
            labels = self._labels.get(namespace) or {"kubernetes.io/metadata.name": namespace}
            return list(self._policies.values()), labels

    # ---- fed by watches (kopf's event loop: no blocking) ---------------------------------------------

    def observe_policy(self, event_type: str, body: Mapping[str, Any]) -> set[str]:
        """Store or drop a policy; returns the namespaces selected before or after the change."""
        name = str(body["metadata"]["name"])
        new: Policy | None = None
        if event_type != "DELETED":
            try:
                new = Policy(name, ModelDeploymentPolicySpec.model_validate(body.get("spec") or {}))
            except ValidationError as exc:
                # The apiserver validates the same schema, so this is an older or hand-forced object:
                # it grants nothing (default deny), and the log says why.
                log.error("ModelDeploymentPolicy %s is invalid and grants nothing: %s", name, exc)
        with self._lock:
            old = self._policies.pop(name, None)
            if new is not None:
                self._policies[name] = new
            selectors = [p.spec.namespace_selector for p in (old, new) if p is not None]
            return {ns for ns, labels in self._labels.items() if any(s.matches(labels) for s in selectors)}

    def observe_namespace(self, event_type: str, body: Mapping[str, Any]) -> bool:
        """Store or drop a namespace's labels; True when they changed (its objects need a new verdict)."""
        meta = body["metadata"]
        name = str(meta["name"])
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        with self._lock:
            if event_type == "DELETED":
                return self._labels.pop(name, None) is not None
            changed = self._labels.get(name) != labels
            self._labels[name] = labels
            return changed

    def prime(self, api: Any) -> set[str]:
        """A LIST of policies and namespaces that replaces both caches: before the workers start (raising on
        failure, so kopf retries the startup handler and nothing is judged on an unknown policy set), and
        again every resync period and on resuming from a peering pause, since a watch that re-lists does
        not say what was deleted meanwhile (a revoked policy must not outlive that). Returns the
        namespaces whose verdict may have changed."""
        if not self.enforcing:
            return set()
        from kubernetes import client

        found = cast(
            dict[str, Any],
            client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, POLICY_PLURAL),
        )
        namespaces = [
            {"metadata": {"name": ns.metadata.name, "labels": ns.metadata.labels}}
            for ns in client.CoreV1Api(api).list_namespace().items
            if ns.metadata is not None
        ]
        affected = self.replace(found.get("items", []), namespaces)
        log.debug("policy: %d ModelDeploymentPolicies over %d namespaces", *self.sizes())
        return affected

    def replace(
        self, policies: Sequence[Mapping[str, Any]], namespaces: Sequence[Mapping[str, Any]]
    ) -> set[str]:
        fresh = PolicyGate(self.mode)
        for body in policies:
            fresh.observe_policy("ADDED", body)
        for body in namespaces:
            fresh.observe_namespace("ADDED", body)
        with self._lock:
            old_policies, old_labels = self._policies, self._labels
            self._policies, self._labels = fresh._policies, fresh._labels

        def selecting(
            ns: str, pols: dict[str, Policy], labels: dict[str, dict[str, str]]
        ) -> dict[str, Policy]:
            mine = labels.get(ns, {"kubernetes.io/metadata.name": ns})
            return {n: p for n, p in pols.items() if p.spec.namespace_selector.matches(mine)}

        return {
            ns
            for ns in old_labels.keys() | fresh._labels.keys()
            if selecting(ns, old_policies, old_labels) != selecting(ns, fresh._policies, fresh._labels)
        }

    def sizes(self) -> tuple[int, int]:
        with self._lock:
            return len(self._policies), len(self._labels)
