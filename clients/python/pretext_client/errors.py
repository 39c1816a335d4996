"""Exceptions raised by pretext_client."""

from __future__ import annotations

import json
from typing import Dict, List, NamedTuple, Optional, Sequence, Type

import grpc


class FieldError(NamedTuple):
    """One refused field of a request: ``field`` is its path ("config.training.epochs"),
    ``message`` what is wrong and what to do."""

    field: str
    message: str


class PretextError(Exception):
    """A call to pretextd failed. ``code`` is the gRPC status code (``grpc.StatusCode``),
    ``message`` the daemon's status message, ``method`` the RPC that failed, and
    ``field_errors`` the daemon's field-level verdict when it refused a request's settings."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        method: str = "",
        field_errors: Sequence[FieldError] = (),
    ) -> None:
        self.code = code
        self.message = message
        self.method = method
        self.field_errors: List[FieldError] = list(field_errors)
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{code.name}: {message}")

    @property
    def code_name(self) -> str:
        """The status code's name, e.g. "NOT_FOUND"."""
        return self.code.name


class InvalidArgumentError(PretextError):
    """INVALID_ARGUMENT or FAILED_PRECONDITION: the request was rejected."""


class NotFoundError(PretextError):
    """NOT_FOUND: no such run."""


class AuthError(PretextError):
    """UNAUTHENTICATED or PERMISSION_DENIED: missing or wrong token."""


class UnavailableError(PretextError):
    """UNAVAILABLE: the daemon cannot be reached."""


class DeadlineExceededError(PretextError, TimeoutError):
    """DEADLINE_EXCEEDED: the call (or ``Client.wait``) ran out of time."""


class RunFailedError(Exception):
    """``Client.wait(..., check=True)`` found the run in a terminal state other than
    SUCCEEDED. ``run`` is the final run."""

    def __init__(self, run: "object") -> None:
        self.run = run
        state = getattr(run, "state", "?")
        error = getattr(run, "error", "")
        super().__init__(
            f"run {getattr(run, 'id', '?')} ended {state}" + (f": {error}" if error else "")
        )


_BY_CODE: Dict[grpc.StatusCode, Type[PretextError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.UNAUTHENTICATED: AuthError,
    grpc.StatusCode.PERMISSION_DENIED: AuthError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def error_for(
    code: Optional[grpc.StatusCode],
    message: str,
    method: str = "",
    field_errors: Sequence[FieldError] = (),
) -> PretextError:
    """The exception for a status code (a PretextError subclass where one fits)."""
    code = code or grpc.StatusCode.UNKNOWN
    return _BY_CODE.get(code, PretextError)(code, message, method, field_errors)


FIELD_ERRORS_KEY = "pretext-field-errors"


def _field_errors(err: grpc.RpcError) -> List[FieldError]:
    trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailers or ():
        if key != FIELD_ERRORS_KEY:
            continue
        try:
            items = json.loads(value)
        except ValueError:
            return []
        return [
            FieldError(str(e["field"]), str(e["message"]))
            for e in items
            if isinstance(e, dict) and "field" in e and "message" in e
        ]
    return []


def from_rpc_error(err: grpc.RpcError, method: str = "") -> PretextError:
    """Wraps a grpc.RpcError (a grpc.Call) into a PretextError."""
    code = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else None
    return error_for(code, details or str(err), method, _field_errors(err))
