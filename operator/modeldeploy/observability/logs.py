"""Structured JSON logs: one object per line, carrying the ModelDeployment being reconciled.

The resource is bound with a context variable around each reconcile, so every log line emitted inside it
(ours, the backends', the analysis engine's) carries namespace/name/revision without threading them through
call signatures. kopf's per-object loggers pass the object as ``extra`` fields, which are kept too.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

_RESOURCE: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "mdep_resource", default=None
)
# LogRecord attributes that are not user "extra" fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# kopf's per-object extras: its whole settings object and a skip flag are noise in every line.
_DROPPED = {"settings", "k8s_skip"}


@contextlib.contextmanager
def bound(namespace: str, name: str, revision: str = "") -> Iterator[dict[str, str]]:
    """Bind the resource to log lines in this context; the yielded dict may be updated (the revision)."""
    fields = {"namespace": namespace, "name": name, "revision": revision}
    token = _RESOURCE.set(fields)
    try:
        yield fields
    finally:
        _RESOURCE.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        resource = _RESOURCE.get()
        if resource:
            out.update({k: v for k, v in resource.items() if v})
        ref = getattr(record, "k8s_ref", None)
        if isinstance(ref, dict) and "name" not in out:  # kopf's object loggers name the object here
            out.update({k: ref[k] for k in ("namespace", "name") if ref.get(k)})
        for key, value in vars(record).items():
            if key in _DROPPED or key == "k8s_ref":
                continue
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Replace the root handlers with one JSON-lines handler on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
