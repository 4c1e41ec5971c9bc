"""Runs deploy/argocd/health.lua as Argo CD does: Lua 5.1 (Argo CD embeds gopher-lua, a 5.1), the object as
the global ``obj``, the script's returned table read for ``status`` and ``message``."""

from __future__ import annotations

from typing import Any

from lupa import lua51

from tests.conftest import ROOT

HEALTH_LUA = ROOT / "deploy" / "argocd" / "health.lua"
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def argocd_health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) of Argo CD's health check for ``obj`` (a ModelDeployment as the API returns it)."""
    lua = lua51.LuaRuntime()
    lua.globals()["obj"] = lua.table_from(obj, recursive=True)
    hs = lua.execute(HEALTH_LUA.read_text())
    status, message = str(hs["status"]), str(hs["message"] or "")
    assert status in ARGO_STATUSES, status
    return status, message


def as_object(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "m", "namespace": "team", "generation": generation},
        "spec": {},
    }
    if status is not None:
        obj["status"] = status
    return obj
