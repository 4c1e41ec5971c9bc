"""The CLI's one error type: a message that names the problem and what to do, printed without a traceback."""

from __future__ import annotations


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
