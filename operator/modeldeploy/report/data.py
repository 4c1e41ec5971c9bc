"""Reference and live samples for the report, read with the analysis engine's own file loader.

Only ``file:///`` sources are read from the machine running the CLI; cloud URIs (azureml://, abfss://,
https://) would need the operator's identity, so the report names them instead of plotting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modeldeploy.analysis.sources import DataUnavailable
from modeldeploy.analysis.types import Column
from modeldeploy.analysis.uris import Locator, source_for


@dataclass(frozen=True)
class Samples:
    reference: dict[str, Column]
    live: dict[str, Column]


def _load(source: dict[str, Any], what: str) -> dict[str, Column]:
    uri = str(source.get("uri", ""))
    if not uri.startswith("file:///"):
        raise DataUnavailable(
            f"{what} data at {uri} is not a file:/// source; the report only reads local files"
        )
    # The report runs as its user (kubectl mdep report, the demo), not in the operator: their own files are
    # theirs to read, so file:// may name any local path here.
    fmt = str(source.get("format", "parquet"))
    return dict(source_for(uri, fmt, locator=Locator(data_root="/")).load(None, None))


def load_samples(spec: dict[str, Any]) -> Samples:
    """Raises ``DataUnavailable`` naming the source when either side cannot be read."""
    drift = ((spec.get("analysis") or {}).get("drift")) or {}
    if not drift:
        raise DataUnavailable("spec.analysis.drift is not set: there is nothing to compare")
    return Samples(_load(drift["reference"], "reference"), _load(drift["live"], "live"))
