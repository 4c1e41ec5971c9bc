"""Which subscriptions one Event reaches: the object's own (``spec.notifications``) and the defaults of the
ModelDeploymentPolicies selecting its namespace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from modeldeploy.api.notifications import Subscription, Trigger


@dataclass(frozen=True)
class Route:
    subscription: Subscription
    trigger: Trigger  # the first of the Event's transitions the subscription asked for
    # A policy's default: its Secret is read in the operator's namespace and its host needs no grant (the
    # platform team wrote both). The object's own: its namespace's Secret, a granted host.
    platform: bool
    field: str  # where it came from, for messages: spec.notifications[0] or ModelDeploymentPolicy x


def routes(
    notices: Sequence[Trigger],
    own: Sequence[Subscription],
    defaults: Iterable[tuple[str, Sequence[Subscription]]] = (),
) -> list[Route]:
    """Each subscription that asked for one of ``notices``, once (one Event is one message per receiver,
    even when it is both a step and a pause). ``defaults``: (policy name, its default subscriptions)."""
    if not notices:
        return []
    found: list[Route] = []
    for i, sub in enumerate(own):
        hit = _first(notices, sub)
        if hit is not None:
            found.append(Route(sub, hit, False, f"spec.notifications[{i}]"))
    for policy, subs in defaults:
        for i, sub in enumerate(subs):
            hit = _first(notices, sub)
            if hit is not None:
                field = f"ModelDeploymentPolicy {policy} spec.notifications.defaults[{i}]"
                found.append(Route(sub, hit, True, field))
    return found


def _first(notices: Sequence[Trigger], sub: Subscription) -> Trigger | None:
    return next((t for t in notices if t in sub.triggers), None)
