"""Strict parsing of what a spec points at, for the policy check.

Each parser accepts a narrower language than the code that later does the I/O (``analysis.uris``,
``analysis.datastores``, urllib): anything with userinfo, a port where none belongs, a query or fragment,
percent-encoding, a backslash, a non-ASCII host, or a ``.``/``..`` path segment is refused here rather than
interpreted, so no spelling can mean one thing to the check and another to the reader. Hosts and ARM names
are compared case-insensitively (DNS and ARM are); container names and paths exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modeldeploy.api.azure_names import Workspace as Workspace  # re-exported: this module names them
from modeldeploy.api.policy import STORAGE_ACCOUNT


class Unsupported(ValueError):
    """The reference is in no form a policy can grant; the message says why."""


@dataclass(frozen=True)
class BlobRef:
    account: str  # lower-case
    container: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class DatastoreRef:
    workspace: Workspace | None  # None: the short form, in the azureml target's workspace
    datastore: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class LocalRef:
    path: tuple[str, ...]


DataRef = BlobRef | DatastoreRef | LocalRef


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str  # lower-case
    port: int
    path: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


_ACCOUNT_HOST = re.compile(r"([a-z0-9]{3,24})\.(blob|dfs)\.core\.windows\.net")
_HTTPS_BLOB = re.compile(r"https://(?P<host>[^/?#]*)/(?P<container>[^/?#]+)(/(?P<path>[^?#]*))?")
_ADLS = re.compile(r"(abfss|wasbs)://(?P<container>[^@/?#]+)@(?P<host>[^/?#]*)/(?P<path>[^?#]*)")
_FILE = re.compile(r"file://(?P<path>/[^?#]*)")
_AML_LONG = re.compile(
    r"azureml://subscriptions/(?P<sub>[^/?#]+)/resourcegroups/(?P<rg>[^/?#]+)/workspaces/(?P<ws>[^/?#]+)"
    r"/datastores/(?P<ds>[^/?#]+)/paths/(?P<path>[^?#]*)",
    re.IGNORECASE,
)
_AML_SHORT = re.compile(r"azureml://datastores/(?P<ds>[^/?#]+)/paths/(?P<path>[^?#]*)", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]", re.ASCII)
_WORKSPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,32}")
_DATASTORE = re.compile(r"[A-Za-z0-9_]{1,255}")
_HOST = re.compile(
    r"(?P<host>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)(:(?P<port>[0-9]{1,5}))?"
)
_URL = re.compile(r"(?P<scheme>https?)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)")
DEFAULT_PORTS = {"http": 80, "https": 443}
FORMS = (
    "https://<account>.blob.core.windows.net/<container>/<path>, abfss:// or wasbs://<container>@<account>."
    "dfs|blob.core.windows.net/<path>, azureml://[subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/]"
    "datastores/<datastore>/paths/<path> or file:///<path>"
)


def segments(path: str, where: str) -> tuple[str, ...]:
    """A path as its segments (one leading and one trailing slash allowed). Anything a later hop could
    decode, resolve or name differently is refused: percent-encoding, backslashes, ``.`` and ``..``, and
    empty segments (a blob named ``/team-a/x`` is not in the folder ``team-a``)."""
    if "%" in path or "\\" in path:
        raise Unsupported(f"{where}: percent-encoding and backslashes are not allowed in a granted path")
    inner = path.removeprefix("/").removesuffix("/")
    parts = tuple(inner.split("/")) if inner else ()
    if any(p in ("", ".", "..") for p in parts):
        raise Unsupported(f"{where}: empty, '.' and '..' path segments are not allowed")
    return parts


def _account(host: str, uri: str) -> str:
    if not host.isascii():
        raise Unsupported(f"{uri}: the storage host must be ASCII")
    m = _ACCOUNT_HOST.fullmatch(host.lower())
    if m is None or not re.fullmatch(STORAGE_ACCOUNT, m[1]):
        raise Unsupported(
            f"{uri}: the host must be <account>.blob.core.windows.net or <account>.dfs.core.windows.net "
            "(no user, port or other domain)"
        )
    return m[1]


def _braces(text: str, uri: str) -> None:
    # Placeholders are filled per analysis: only a path may carry one, never the account, container,
    # datastore or workspace (the check could not know where it leads).
    if "{" in text or "}" in text:
        raise Unsupported(f"{uri}: placeholders such as {{revision}} are only allowed in the path")


def data_ref(uri: str) -> DataRef:
    """Parse a data or artifact URI (placeholders {namespace} and {name} already filled)."""
    if m := _FILE.fullmatch(uri):
        return LocalRef(segments(m["path"], uri))
    if m := _ADLS.fullmatch(uri):
        _braces(m["container"] + m["host"], uri)
        return BlobRef(_account(m["host"], uri), m["container"], segments(m["path"], uri))
    if m := _HTTPS_BLOB.fullmatch(uri):
        _braces(m["host"] + m["container"], uri)
        return BlobRef(_account(m["host"], uri), m["container"], segments(m["path"] or "", uri))
    if m := _AML_LONG.fullmatch(uri):
        _braces(m["sub"] + m["rg"] + m["ws"] + m["ds"], uri)
        workspace = Workspace(m["sub"], m["rg"], m["ws"])
        if not (_UUID.fullmatch(m["sub"]) and _GROUP.fullmatch(m["rg"]) and _WORKSPACE.fullmatch(m["ws"])):
            raise Unsupported(f"{uri}: not a valid subscription id, resource group or workspace name")
        return DatastoreRef(workspace, _datastore(m["ds"], uri), segments(m["path"], uri))
    if m := _AML_SHORT.fullmatch(uri):
        _braces(m["ds"], uri)
        return DatastoreRef(None, _datastore(m["ds"], uri), segments(m["path"], uri))
    raise Unsupported(f"{uri}: not a form a ModelDeploymentPolicy can grant; use {FORMS}")


def _datastore(name: str, uri: str) -> str:
    if not _DATASTORE.fullmatch(name):
        raise Unsupported(f"{uri}: {name!r} is not a valid datastore name")
    return name


def endpoint(url: str, *, schemes: tuple[str, ...] = ("http", "https")) -> Endpoint:
    """scheme://host[:port][/path]: no userinfo, no IP literal in brackets, ASCII lower-case-able host."""
    m = _URL.fullmatch(url)
    if m is None or m["scheme"] not in schemes:
        raise Unsupported(
            f"{url}: must be {' or '.join(schemes)}://host[:port][/path] with no query or fragment"
        )
    authority = m["authority"]
    if not authority.isascii():
        raise Unsupported(f"{url}: the host must be ASCII")
    host = _HOST.fullmatch(authority.lower())
    if host is None:
        raise Unsupported(f"{url}: the host must be a plain DNS name or IPv4 address (no user, no brackets)")
    port = int(host["port"]) if host["port"] else DEFAULT_PORTS[m["scheme"]]
    if not 0 < port < 65536:
        raise Unsupported(f"{url}: port {port} is out of range")
    return Endpoint(m["scheme"], host["host"], port, segments(m["path"], url))


_SECRET_URL = re.compile(r"https://(?P<authority>[^/?#\\]*)([/?][^#\s\\]*)?")


def secret_url_host(url: str) -> str:
    """host or host:port (443 left out) of an https URL that is itself a credential (an incoming webhook):
    its path and query may carry anything, and no message repeats them, only the host or the rule."""
    m = _SECRET_URL.fullmatch(url)
    if m is None:
        raise Unsupported("the URL must be https://host[:port][/path][?query] with no fragment or whitespace")
    host = _HOST.fullmatch(m["authority"].lower()) if m["authority"].isascii() else None
    if host is None:
        raise Unsupported("the URL's host must be a plain DNS name or IPv4 address (no user, no brackets)")
    port = int(host["port"]) if host["port"] else 443
    if not 0 < port < 65536:
        raise Unsupported(f"the URL's port {port} is out of range")
    return host["host"] if port == 443 else f"{host['host']}:{port}"


# KQL that reads beyond the workspace it is sent to: cross-resource functions (workspace(), app(), resource(),
# adx(), arg(), cluster(), database()), external data, and plugins that make requests. KQL names are
# case-sensitive; a name may be bracket-quoted (['workspace']) and separated from its "(" by spaces and
# // comments. A string or column that merely contains such a name followed by "(" is refused too.
_KQL_REACH = re.compile(
    r"(?<![A-Za-z0-9_])(?:\[\s*['\"])?"
    r"(?P<name>workspace|app|resource|adx|arg|cluster|database|externaldata|external_table|[A-Za-z0-9_]*_request)"
    r"(?:['\"]\s*\])?(?:\s|//[^\n]*)*[(\[]"
)
KQL_REACH_NAMES = (
    "workspace, app, resource, adx, arg, cluster, database, externaldata, external_table, *_request plugins"
)


def kql_reach(query: str) -> str | None:
    """The first function in ``query`` that reads beyond the workspace it runs in; None: there is none."""
    m = _KQL_REACH.search(query)
    return m["name"] if m else None


_REMOTE = re.compile(r"^(azureml:|runs:/|models:/|[A-Za-z][A-Za-z0-9+.-]*://)")


def input_kind(value: str) -> str:
    """What azure-ai-ml makes of a pipeline input's string when the input is data (uri_folder, uri_file, a
    model): "local", a path it uploads from the operator's own filesystem (file:, ./x, /x, any slash or
    backslash); "reference", a URI or asset it resolves in Azure; "literal", anything else (0.5, fast)."""
    if value.startswith("file:"):
        return "local"
    if _REMOTE.match(value):
        return "reference"
    return "local" if value.startswith((".", "~")) or "/" in value or "\\" in value else "literal"


def registry_of(ref: str) -> str | None:
    """The registry of an ``azureml://registries/<r>/...`` reference (None: a workspace asset)."""
    m = re.match(r"azureml://registries/([^/]+)/", ref, re.IGNORECASE)
    return m[1].lower() if m else None


def within(path: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    """Whole segments: ``team-a`` covers ``team-a/x`` but not ``team-ab``."""
    return path[: len(prefix)] == prefix
