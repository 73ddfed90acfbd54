"""MongoDB wire-protocol framing: OP_MSG both ways, OP_QUERY in and OP_REPLY out for the
legacy handshake (pymongo's first `isMaster` on a fresh connection goes out as OP_QUERY).

https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

import bson

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

MAX_MESSAGE_BYTES = 48_000_000
_CHECKSUM_PRESENT = 1
_MORE_TO_COME = 2

_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode


class ProtocolError(Exception):
    """The peer sent something this server does not speak; the connection is closed."""


@dataclass
class Request:
    request_id: int
    opcode: int
    command: dict[str, Any]
    db: str
    more_to_come: bool = False  # the client wants no reply (unacknowledged write)


def read_request(sock: socket.socket) -> Request | None:
    """The next request on `sock`, or None when the peer closed the connection."""
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    length, request_id, _response_to, opcode = _HEADER.unpack(header)
    if not _HEADER.size < length <= MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message length {length} out of range")
    body = _recv_exactly(sock, length - _HEADER.size)
    if body is None:
        return None
    if opcode == OP_MSG:
        return _parse_msg(request_id, body)
    if opcode == OP_QUERY:
        return _parse_query(request_id, body)
    raise ProtocolError(f"opcode {opcode} is not supported (no compression is advertised)")


def msg_reply(response_to: int, doc: dict[str, Any]) -> bytes:
    payload = struct.pack("<IB", 0, 0) + bson.encode(doc)
    return _HEADER.pack(_HEADER.size + len(payload), 0, response_to, OP_MSG) + payload


def legacy_reply(response_to: int, doc: dict[str, Any]) -> bytes:
    # responseFlags, cursorID, startingFrom, numberReturned
    payload = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(doc)
    return _HEADER.pack(_HEADER.size + len(payload), 0, response_to, OP_REPLY) + payload


def _parse_msg(request_id: int, body: bytes) -> Request:
    (flags,) = struct.unpack_from("<I", body, 0)
    end = len(body) - (4 if flags & _CHECKSUM_PRESENT else 0)
    pos = 4
    command: dict[str, Any] | None = None
    sequences: dict[str, list[dict[str, Any]]] = {}
    while pos < end:
        kind = body[pos]
        pos += 1
        (size,) = struct.unpack_from("<i", body, pos)
        if kind == 0:
            command = bson.decode(body[pos : pos + size])
        elif kind == 1:
            name_end = body.index(b"\x00", pos + 4)
            name = body[pos + 4 : name_end].decode()
            sequences[name] = bson.decode_all(body[name_end + 1 : pos + size])
        else:
            raise ProtocolError(f"OP_MSG section kind {kind} is not supported")
        pos += size
    if command is None:
        raise ProtocolError("OP_MSG without a body section")
    command.update(sequences)  # document sequences are the command's array arguments
    return Request(request_id, OP_MSG, command, str(command.get("$db", "admin")), bool(flags & _MORE_TO_COME))


def _parse_query(request_id: int, body: bytes) -> Request:
    name_end = body.index(b"\x00", 4)
    namespace = body[4:name_end].decode()
    pos = name_end + 1 + 8  # numberToSkip, numberToReturn
    (size,) = struct.unpack_from("<i", body, pos)
    query = bson.decode(body[pos : pos + size])
    if "$query" in query:  # a command wrapped with read preference
        query = query["$query"]
    db, _, collection = namespace.partition(".")
    if collection != "$cmd":
        raise ProtocolError(f"legacy OP_QUERY on {namespace!r}: only commands are supported")
    return Request(request_id, OP_QUERY, query, db)


def _recv_exactly(sock: socket.socket, count: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = count
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
