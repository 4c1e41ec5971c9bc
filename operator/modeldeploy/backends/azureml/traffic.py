"""Azure ML's traffic rules, checked before any call, and the comparison the SDK gets wrong.

Rules (from the service): live traffic sums to 100 (or is empty); mirrored traffic totals at most 50 %,
goes to one deployment, never to one that takes live traffic, and is not supported on Kubernetes endpoints.
SDK quirks handled here: ``begin_create_or_update`` drops zero weights and lower-cases keys, ``get()`` fills
zeros for deployments without traffic, and endpoint ``==`` ignores ``mirror_traffic``, so traffic is compared
through ``canonical`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modeldeploy.ports import BackendError

MAX_MIRROR_PERCENT = 50


@dataclass(frozen=True)
class EndpointTraffic:
    """Traffic as Azure holds it: deployment name -> percent, zero entries removed, names lower-case."""

    live: Mapping[str, int]
    mirror: Mapping[str, int]


def canonical(live: Mapping[str, int] | None, mirror: Mapping[str, int] | None) -> EndpointTraffic:
    def clean(weights: Mapping[str, int] | None) -> dict[str, int]:
        return {k.lower(): int(v) for k, v in (weights or {}).items() if int(v) != 0}

    return EndpointTraffic(live=clean(live), mirror=clean(mirror))


def _violation(message: str) -> BackendError:
    return BackendError(reason="InvalidTrafficSplit", message=message, retryable=False)


def validate(traffic: EndpointTraffic, *, kubernetes: bool, known: set[str]) -> None:
    """Raise a non-retryable BackendError naming the broken rule and the fix."""
    total = sum(traffic.live.values())
    if any(v < 0 for v in [*traffic.live.values(), *traffic.mirror.values()]):
        raise _violation(f"traffic weights must not be negative: live={dict(traffic.live)}")
    if traffic.live and total != 100:
        raise _violation(
            f"live traffic must sum to 100, got {total} ({dict(traffic.live)}); adjust the weights"
        )
    unknown = sorted((set(traffic.live) | set(traffic.mirror)) - known)
    if unknown:
        raise _violation(
            f"traffic names deployments that do not exist on the endpoint: {unknown}; "
            "ensure the revisions before routing to them"
        )
    if not traffic.mirror:
        return
    if kubernetes:
        raise _violation(
            "mirrored (shadow) traffic is not supported on Kubernetes online endpoints; "
            "use a managed endpoint or a canary strategy"
        )
    if len(traffic.mirror) > 1:
        raise _violation(f"only one deployment may receive mirrored traffic, got {sorted(traffic.mirror)}")
    name, percent = next(iter(traffic.mirror.items()))
    if percent > MAX_MIRROR_PERCENT:
        raise _violation(
            f"mirrored traffic to {name!r} is {percent}%, Azure allows at most {MAX_MIRROR_PERCENT}%; "
            "lower the shadow percentage"
        )
    if traffic.live.get(name, 0) > 0:
        raise _violation(
            f"deployment {name!r} cannot take live and mirrored traffic at once; mirror a deployment without "
            "live traffic"
        )
