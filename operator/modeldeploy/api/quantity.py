"""Kubernetes resource quantities ("500m", "2Gi", "1e3") to numbers, for comparing requests with limits."""

from __future__ import annotations

import re
from decimal import Decimal

from .patterns import QUANTITY

_SUFFIX = {
    "m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
    "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18), "Ki": Decimal(2**10),
    "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}  # fmt: skip


def parse_quantity(text: str) -> Decimal:
    if not re.fullmatch(QUANTITY, text):
        raise ValueError(f'invalid quantity {text!r}: use a Kubernetes quantity such as "500m" or "2Gi"')
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(.*)", text)
    assert match is not None  # the pattern above guarantees a leading number
    number, suffix = Decimal(match.group(1)), match.group(2)
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _SUFFIX[suffix]
