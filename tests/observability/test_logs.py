"""JSON log lines carry the bound resource, extra fields and exceptions."""

from __future__ import annotations

import json
import logging

from modeldeploy.observability.logs import JsonFormatter, bound


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("modeldeploy.test", logging.WARNING, __file__, 1, msg, args, None)
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def test_bound_resource_and_revision_are_in_every_line_inside_the_block() -> None:
    fmt = JsonFormatter()
    with bound("team-a", "scorer", "scorer-7f3a") as fields:
        inside = json.loads(fmt.format(_record("set weight %d", 25)))
        fields["revision"] = "scorer-9c1d"
        updated = json.loads(fmt.format(_record("x")))
    outside = json.loads(fmt.format(_record("after")))
    assert inside["message"] == "set weight 25"
    assert (inside["namespace"], inside["name"], inside["revision"]) == ("team-a", "scorer", "scorer-7f3a")
    assert inside["level"] == "WARNING"
    assert updated["revision"] == "scorer-9c1d"
    assert "namespace" not in outside


def test_extra_fields_and_exceptions_are_kept() -> None:
    fmt = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        rec = _record("failed", k8s_obj={"a": 1}, step=2)
        rec.exc_info = sys.exc_info()
    line = json.loads(fmt.format(rec))
    assert line["step"] == 2
    assert line["k8s_obj"] == "{'a': 1}"
    assert "ValueError: boom" in line["exception"]


def test_kopf_object_loggers_name_the_object_and_drop_their_settings_blob() -> None:
    rec = _record(
        "Handler succeeded.",
        settings=object(),
        k8s_skip=False,
        k8s_ref={"namespace": "ns1", "name": "m1", "uid": "u"},
    )
    line = json.loads(JsonFormatter().format(rec))
    assert (line["namespace"], line["name"]) == ("ns1", "m1")
    assert "settings" not in line
    assert "k8s_skip" not in line
    assert "k8s_ref" not in line
