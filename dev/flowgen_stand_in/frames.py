"""The on-disk format of the stand-in's journal and snapshot: a header, then checksummed frames.

    file   := HEADER frame*
    frame  := MARK  length:u32le  crc:u32le  body[length]
    crc    := crc32(length:u32le + body)                       (zlib's CRC-32)
    body   := one or more BSON records (see `Engine.apply`)

The journal's header is `HEADER` and the snapshot's `SNAPSHOT_HEADER`. A journal frame holds
every record of one command, so a command is replayed whole or not at all; a snapshot's frames
hold up to about 1 MiB of records each, and its last frame is one `{"op": "end", "records": N}`
record, so a snapshot cut short is seen as such.

Files written before this format (bare BSON records, no header) are read by `scan_legacy`; the
stand-in rewrites them in this format when it opens them.

`scan` reads a file's frames and says how it ends: cleanly, with a torn frame (what an append
interrupted by kill -9 leaves: a frame cut short at the end of the file, with nothing valid after
it), or with damage (a frame that does not check out and is not a torn end: a flipped byte, a
record overwritten, garbage in the middle). `resync=True` skips damage: it goes on from the next
frame that checks out, which is how `flowgen_stand_in.repair` keeps every valid record.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import bson
from bson.errors import InvalidBSON

HEADER = b"\x89FLOWGEN-JOURNAL 1\n"
SNAPSHOT_HEADER = b"\x89FLOWGEN-SNAPSHOT 1\n"
MARK = b"\xa7FGR"
_FRAME = struct.Struct("<4sII")  # MARK, body length, crc
FRAME_OVERHEAD = _FRAME.size
_LENGTH = struct.Struct("<I")
_BSON_SIZE = struct.Struct("<i")
OPS = frozenset({"put", "del", "coll", "drop", "dropdb", "end"})

Record = dict[str, Any]


def frame(body: bytes) -> bytes:
    length = _LENGTH.pack(len(body))
    return _FRAME.pack(MARK, len(body), zlib.crc32(body, zlib.crc32(length))) + body


def encode(records: list[Record]) -> bytes:
    if len(records) == 1:  # most commands: one document
        return frame(bson.encode(records[0]))
    return frame(b"".join([bson.encode(r) for r in records]))


@dataclass(frozen=True)
class Frame:
    offset: int  # of its MARK
    end: int  # the offset just past its body
    records: list[Record]


@dataclass(frozen=True)
class Gap:
    """Bytes that are not a valid frame: damage, or a torn frame at the end."""

    offset: int
    length: int
    reason: str
    torn: bool = False


@dataclass
class Scan:
    header: bool  # the file starts with the expected header
    legacy: bool = False  # bare BSON records, from before frames
    frames: list[Frame] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    size: int = 0

    @property
    def records(self) -> Iterator[Record]:
        for f in self.frames:
            yield from f.records

    @property
    def torn(self) -> Gap | None:
        return self.gaps[-1] if self.gaps and self.gaps[-1].torn else None

    @property
    def damage(self) -> Gap | None:
        return next((g for g in self.gaps if not g.torn), None)

    @property
    def valid_end(self) -> int:
        """Where the last valid frame (or the header) ends."""
        if self.frames:
            return self.frames[-1].end
        return len(HEADER) if self.header else 0


def is_framed(data: bytes, header: bytes) -> bool:
    """The file is in this format (an empty file, or a header torn by a kill, counts too)."""
    return data.startswith(header) or (len(data) < len(header) and header.startswith(data))


def read(data: bytes, header: bytes, *, resync: bool = False) -> Scan:
    """A file in either format: frames (its header damaged too, when a valid frame is in it),
    else bare BSON records."""
    if is_framed(data, header) or _next_frame(data, 0) < len(data):
        return scan(data, header, resync=resync)
    return scan_legacy(data, resync=resync)


def scan(data: bytes, header: bytes, *, resync: bool = False) -> Scan:
    """The frames of a file in this format; stops at the first damage unless `resync`."""
    result = Scan(header=data.startswith(header), size=len(data))
    if not result.header:
        if header.startswith(data):  # empty, or the header itself torn
            if data:
                result.gaps.append(Gap(0, len(data), "a header cut short", torn=True))
            return result
        result.gaps.append(Gap(0, min(len(header), len(data)), "the file does not start with its header"))
        if not resync:
            return result
        pos = _next_frame(data, 0)
    else:
        pos = len(header)
    while pos < len(data):
        found = _frame_at(data, pos)
        if isinstance(found, Frame):
            result.frames.append(found)
            pos = found.end
            continue
        following = _next_frame(data, pos + 1)
        torn = following >= len(data) and _looks_torn(data, pos)
        result.gaps.append(Gap(pos, following - pos, found, torn=torn))
        if torn or not resync:
            break
        pos = following
    return result


def _frame_at(data: bytes, pos: int) -> Frame | str:
    """The frame at `pos`, or why there is none."""
    if len(data) - pos < FRAME_OVERHEAD:
        return f"a frame header cut short ({len(data) - pos} bytes at the end)"
    mark, length, crc = _FRAME.unpack_from(data, pos)
    if mark != MARK:
        return "no frame marker"
    start, end = pos + FRAME_OVERHEAD, pos + FRAME_OVERHEAD + length
    if end > len(data):
        return f"a frame of {length} bytes cut short ({len(data) - start} bytes of it at the end)"
    body = memoryview(data)[start:end]
    if zlib.crc32(body, zlib.crc32(data[pos + 4 : pos + 8])) != crc:
        return f"checksum mismatch in a frame of {length} bytes"
    records = _records(body)
    if records is None:
        return f"a frame of {length} bytes whose checksum matches but whose records do not decode"
    return Frame(pos, end, records)


def _records(body: memoryview) -> list[Record] | None:
    records: list[Record] = []
    pos = 0
    while pos < len(body):
        if len(body) - pos < 5:
            return None
        (size,) = _BSON_SIZE.unpack_from(body, pos)
        if size < 5 or pos + size > len(body):
            return None
        try:
            record = bson.decode(body[pos : pos + size])
        except InvalidBSON:
            return None
        if record.get("op") not in OPS:
            return None
        records.append(record)
        pos += size
    return records or None


def _next_frame(data: bytes, pos: int) -> int:
    """The offset of the next valid frame at or after `pos`, or len(data)."""
    while True:
        pos = data.find(MARK, pos)
        if pos < 0:
            return len(data)
        if isinstance(_frame_at(data, pos), Frame):
            return pos
        pos += 1


def _looks_torn(data: bytes, pos: int) -> bool:
    """What an interrupted append leaves: a frame that reaches the end of the file (a prefix of
    one, or one whose bytes did not all reach the disk). A frame without its marker is damage,
    and so is a bad frame that ends before the file does (there is more data after it)."""
    rest = data[pos : pos + FRAME_OVERHEAD]
    if len(rest) < len(MARK):
        return MARK.startswith(rest)
    if rest[: len(MARK)] != MARK:
        return False
    if len(rest) < FRAME_OVERHEAD:
        return True
    length: int = _LENGTH.unpack_from(rest, len(MARK))[0]
    return pos + FRAME_OVERHEAD + length >= len(data)


# ---- files written before frames: bare BSON records --------------------------------------


def scan_legacy(data: bytes, *, resync: bool = False) -> Scan:
    """Bare BSON records, as the stand-in wrote them before frames. Without checksums, a record
    that does not decode is damage unless it runs past the end of the file (a torn end)."""
    result = Scan(header=False, legacy=True, size=len(data))
    pos = 0
    while pos < len(data):
        found = _legacy_record_at(data, pos)
        if isinstance(found, Frame):
            result.frames.append(found)
            pos = found.end
            continue
        following = _next_legacy_record(data, pos + 1)
        runs_past_end = len(data) - pos < 5 or pos + _BSON_SIZE.unpack_from(data, pos)[0] > len(data)
        torn = following >= len(data) and runs_past_end
        result.gaps.append(Gap(pos, following - pos, found, torn=torn))
        if torn or not resync:
            break
        pos = following
    return result


def _legacy_record_at(data: bytes, pos: int) -> Frame | str:
    if len(data) - pos < 5:
        return f"a record cut short ({len(data) - pos} bytes at the end)"
    (size,) = _BSON_SIZE.unpack_from(data, pos)
    if size < 5:
        return f"a record length of {size}"
    if pos + size > len(data):
        return f"a record of {size} bytes cut short ({len(data) - pos} bytes of it at the end)"
    records = _records(memoryview(data)[pos : pos + size])
    if records is None:
        return f"a record of {size} bytes that does not decode"
    return Frame(pos, pos + size, records)


def _next_legacy_record(data: bytes, pos: int) -> int:
    """Without markers, every offset is a candidate: the next one where a record decodes."""
    for candidate in range(pos, len(data) - 4):
        (size,) = _BSON_SIZE.unpack_from(data, candidate)
        plausible = 5 <= size <= len(data) - candidate and data[candidate + size - 1] == 0
        if plausible and isinstance(_legacy_record_at(data, candidate), Frame):
            return candidate
    return len(data)
