"""The one error shape the API answers with: an HTTP status, a machine code and a message
({"error": {"code", "message"}}). Modules raise their own subclasses; routes catch ApiError."""
from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
