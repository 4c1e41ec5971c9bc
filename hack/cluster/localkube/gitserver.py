"""A Git server on loopback for GitOps controllers to pull from, and a working copy to commit to it.

Flux's source-controller clones with go-git, which speaks only Git's smart HTTP protocol, so a static file
server will not do: each request is handed to ``git http-backend`` (the CGI program every Git installation
ships, under ``git --exec-path``) by a small threaded HTTP server. Read-only: commits are pushed to the bare
repository through the file system by ``Repo``, never over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GIT_ENV = {
    "GIT_AUTHOR_NAME": "kdap e2e",
    "GIT_AUTHOR_EMAIL": "e2e@kdap.invalid",
    "GIT_COMMITTER_NAME": "kdap e2e",
    "GIT_COMMITTER_EMAIL": "e2e@kdap.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,  # the machine's own git config must not change what is committed
}


class GitError(RuntimeError):
    """A git command failed; the message holds its output."""


def git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=False
    )
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _backend() -> str:
    return str(Path(git("--exec-path").strip()) / "git-http-backend")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._cgi(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._cgi(self.rfile.read(length) if length else self._chunked())

    def _chunked(self) -> bytes:
        """go-git streams upload-pack requests with chunked transfer encoding."""
        if "chunked" not in (self.headers.get("Transfer-Encoding") or ""):
            return b""
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(body)
            body += self.rfile.read(size)
            self.rfile.readline()

    def _cgi(self, body: bytes) -> None:
        url = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type") or "",
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol") or "",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding") or "",
        }
        proc = subprocess.run([self.server.backend], input=body, capture_output=True, env=env, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        if proc.returncode != 0 and status == 200:
            status, payload = 500, proc.stderr
        self.server.requests.append(f"{self.command} {url.path}?{url.query} {status}")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # requests are kept in ``GitServer.requests``


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.backend = _backend()
        self.requests: list[str] = []


class GitServer:
    """Serves every bare repository under ``root`` at ``http://127.0.0.1:<port>/<name>.git``."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self._server = _Server(root)
        self._thread = threading.Thread(target=self._server.serve_forever, name="git-http", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def requests(self) -> list[str]:
        """``METHOD path?query status`` of every request served, in order."""
        return list(self._server.requests)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"

    def create(self, name: str, work: Path, branch: str = "main") -> Repo:
        """A new bare repository ``name`` and a working copy of it at ``work``."""
        bare = self.root / f"{name}.git"
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(bare))
        git("init", "--quiet", f"--initial-branch={branch}", str(work))
        git("remote", "add", "origin", str(bare), cwd=work)
        return Repo(work, branch)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class Repo:
    """A working copy whose every commit is pushed at once (what a person merging to main does)."""

    work: Path
    branch: str = "main"

    def commit(self, message: str, files: dict[str, str | None]) -> str:
        """Write (or, for None, delete) ``files`` (paths relative to the root), commit, push; the new sha."""
        for rel, content in files.items():
            path = self.work / rel
            if content is None:
                git("rm", "--quiet", rel, cwd=self.work)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            git("add", rel, cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        return self._push()

    def revert(self, sha: str) -> str:
        """``git revert`` of ``sha`` (a new commit undoing it), pushed; the new sha."""
        git("revert", "--no-edit", sha, cwd=self.work)
        return self._push()

    def _push(self) -> str:
        git("push", "--quiet", "origin", f"HEAD:{self.branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work).strip()
