"""MongoDB's reply shapes: command errors, and write results with per-statement errors (a
duplicate key among them), so that pymongo raises DuplicateKeyError or BulkWriteError."""

from __future__ import annotations

import logging
from typing import Any

from pymongo.errors import DuplicateKeyError, InvalidName, OperationFailure, PyMongoError

log = logging.getLogger(__name__)

Doc = dict[str, Any]


class CommandError(Exception):
    def __init__(self, code: int, code_name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.code_name = code_name


def error_reply(code: int, code_name: str, message: str, **details: Any) -> Doc:
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": code_name, **details}


def failure_reply(command: str, exc: Exception) -> Doc:
    if isinstance(exc, CommandError):
        return error_reply(exc.code, exc.code_name, str(exc))
    if isinstance(exc, DuplicateKeyError):
        return error_reply(11000, "DuplicateKey", message_of(exc), **key_details(exc))
    if isinstance(exc, OperationFailure):
        return error_reply(exc.code or 2, "OperationFailed", message_of(exc))
    if isinstance(exc, InvalidName):
        return error_reply(73, "InvalidNamespace", str(exc))
    if isinstance(exc, NotImplementedError):
        return error_reply(238, "NotImplemented", f"{command}: {exc} (FlowGen's MongoDB stand-in)")
    if isinstance(exc, ValueError | TypeError | KeyError | PyMongoError):
        return error_reply(2, "BadValue", f"{command}: {exc}")
    log.exception("command %s failed", command)
    return error_reply(1, "InternalError", f"{command}: {type(exc).__name__}: {exc}")


def message_of(exc: Exception) -> str:
    # str() of pymongo's errors appends ", full error: {details}"
    return str(exc.args[0]) if exc.args else str(exc)


def key_details(exc: PyMongoError) -> Doc:
    details = getattr(exc, "details", None) or {}
    return {k: details[k] for k in ("keyPattern", "keyValue") if k in details}


def write_error(index: int, exc: Exception) -> Doc:
    if isinstance(exc, DuplicateKeyError):
        return {"index": index, "code": 11000, "errmsg": message_of(exc), **key_details(exc)}
    reply = failure_reply("write", exc)
    return {"index": index, "code": reply["code"], "errmsg": reply["errmsg"]}


def write_reply(n: int, errors: list[Doc], **extra: Any) -> Doc:
    reply: Doc = {"n": n, **extra, "ok": 1.0}
    if errors:
        reply["writeErrors"] = errors
    return reply


def sort_spec(spec: Any) -> list[tuple[str, Any]] | None:
    return list(spec.items()) if spec else None


def projection(spec: Any) -> Doc | None:
    return spec or None


def is_operator_update(update: Any) -> bool:
    return isinstance(update, list) or (isinstance(update, dict) and any(k.startswith("$") for k in update))
