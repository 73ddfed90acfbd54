"""Partial lesson content while the model streams (design invariant 9: partial is never final).

`BlockReader` reads the blocks a streamed structured answer has finished so far, and the text of
a markdown block still being written; the lesson worker hands them to a `PartialWriter`, which
writes them as the lesson's partial content under its lease, at most one write per `interval`
seconds plus one per block boundary, so the first words show about a second after the first
token and each block as it is finished. A write the
lease no longer allows lands nowhere and stops the stream (`LeaseLost`); `close()` before the
commit or release means nothing is written after it, even by a model thread abandoned at the
deadline. The final commit, not this, validates the whole lesson and makes it GENERATED.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import from_json

from flowgen.content import GeneratedBlock, OutlineModule, PartialOutline
from flowgen.errors import CallAbandoned
from flowgen.ports import Claim, PartialLessonStore, PartialOutlineStore

_BLOCK: TypeAdapter[GeneratedBlock] = TypeAdapter(Annotated[GeneratedBlock, Field(discriminator="type")])
_MODULE: TypeAdapter[OutlineModule] = TypeAdapter(OutlineModule)
TEXT_MAX, DESCRIPTION_MAX, OBJECTIVES_MAX = 400, 2000, 8  # CourseOutline's limits


class LeaseLost(Exception):
    """A partial write found the lease gone: another worker holds the lesson, or it was released."""


@dataclass
class BlockReader:
    """Reads a streamed `{"blocks": [...` as it grows: the valid blocks that are certainly
    finished (every one the array has moved past, and the last one too when the text so far
    ends right after it), and the text so far of a markdown block still being written. Stops
    at the first block that does not validate (the final parse will refuse the whole answer).
    Finished blocks are validated once each. Any other block in progress (code, a diagram's half a
    Mermaid source) is not shown until it is finished."""

    _finished: list[GeneratedBlock] = field(default_factory=list)
    _broken: bool = False

    def read(self, snapshot: str) -> tuple[list[GeneratedBlock], str]:
        text = snapshot.strip()
        partial = _partial_json(text)
        raw = _raw_blocks(partial)
        if raw is None:
            return list(self._finished), ""
        # every block is finished once the array is closed (the model goes on to the flashcards)
        closed = (isinstance(partial, dict) and len(partial) > 1) or _moved_past_blocks(text)
        done = len(raw) if closed or _closes_last_block(text) else len(raw) - 1
        if len(self._finished) > done:  # a new text (a repair): start again
            self._finished, self._broken = [], False
        self._validate(raw[len(self._finished) : done])
        last = raw[-1] if len(raw) > done and not self._broken else None
        return list(self._finished), _markdown_so_far(last)

    def _validate(self, items: list[object]) -> None:
        for item in items:
            if self._broken:
                return
            try:
                self._finished.append(_BLOCK.validate_python(item))
            except ValidationError:
                self._broken = True


def _markdown_so_far(block: object) -> str:
    if not isinstance(block, dict) or block.get("type") != "markdown":
        return ""
    text = block.get("markdown")
    return text if isinstance(text, str) else ""


def complete_blocks(snapshot: str) -> list[GeneratedBlock]:
    """The finished blocks of a streamed text (see BlockReader)."""
    return BlockReader().read(snapshot)[0]


def read_outline(snapshot: str) -> PartialOutline | None:
    """The outline a streamed `OutlineDecision` has finished so far: the title, description and
    objectives once the next field has begun (the model writes them in the schema's order), and
    the modules that are certainly finished and valid. None while nothing is, or for a refusal."""
    text = snapshot.strip()
    partial = _partial_json(text)
    course = partial.get("course") if isinstance(partial, dict) and partial.get("learnable") is not False else None
    if not isinstance(course, dict):
        return None
    title = _text(_finished_field(course, "title", "description"), TEXT_MAX)
    if title is None:
        return None
    objectives = _finished_field(course, "objectives", "modules")
    valid = [_text(o, TEXT_MAX) for o in objectives] if isinstance(objectives, list) else []
    return PartialOutline(
        title=title,
        description=_text(_finished_field(course, "description", "objectives"), DESCRIPTION_MAX),
        objectives=[o for o in valid if o is not None][:OBJECTIVES_MAX],
        modules=_finished_modules(text, course.get("modules")),
    )


def _text(value: object, limit: int) -> str | None:
    """The value when the final schema would take it as a text (shown partial text stays within it)."""
    return value if isinstance(value, str) and 1 <= len(value) <= limit else None


def _finished_field(course: dict[str, object], name: str, following: str) -> object:
    """A field's value once the next one has begun (before that, a string may be cut short)."""
    return course.get(name) if following in course else None


def _finished_modules(text: str, raw: object) -> list[OutlineModule]:
    """The modules the array has moved past (the last one too once it is closed), up to the
    first that does not validate."""
    modules: list[OutlineModule] = []
    if not isinstance(raw, list):
        return modules
    done = len(raw) if _closes(text, ("]}}", "}}", "}", "")) else len(raw) - 1
    for item in raw[:done]:
        try:
            modules.append(_MODULE.validate_python(item))
        except ValidationError:
            break
    return modules


def _partial_json(text: str) -> object:
    if not text:
        return None
    try:
        return from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return None


def _raw_blocks(partial: object) -> list[object] | None:
    raw = partial.get("blocks") if isinstance(partial, dict) else None
    return raw if isinstance(raw, list) and raw else None


_NEXT_KEY_SO_FAR = re.compile(r',\s*(?:"(?:[^"\\]|\\.)*"?\s*:?\s*)?$')


def _moved_past_blocks(text: str) -> bool:
    """`{"blocks": [...], "flashc`: the array is closed and the next key is being written (a
    string cut inside a block never passes: what is left is not whole JSON)."""
    head = _NEXT_KEY_SO_FAR.sub("", text)
    if head == text:
        return False
    try:
        from_json(head + "}")
    except ValueError:
        return False
    return True


def _closes_last_block(text: str) -> bool:
    """`{"blocks": [ ... }` becomes whole JSON by closing the array and the object (or just the
    object, or nothing) only once its last block is closed."""
    return _closes(text, ("]}", "}", ""))


def _closes(text: str, closers: Sequence[str]) -> bool:
    """Whether the text is whole JSON once one of `closers` is added (after a trailing comma is
    dropped): true only when the innermost array's last element is closed."""
    if not text.endswith(("}", ",", "]")):
        return False
    for whole in (text.rstrip(",") + closers[0], *(text + closer for closer in closers[1:])):
        try:
            from_json(whole)
        except ValueError:
            continue
        return True
    return False


@dataclass
class PartialWriter:
    """`writer(blocks, writing)` with the finished blocks so far and the markdown being written,
    as often as the stream likes. A finished block (or a restart) is written at once; the text
    being written when it changed and `interval` has passed since the last write (the first at
    once): at most one write per interval plus one per block boundary."""

    store: PartialLessonStore
    course_id: str
    lesson_id: str
    claim: Claim
    interval: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    writes: int = 0  # partial writes that landed
    written: int = 0  # blocks in the latest of them
    _writing: str = ""
    _last: float | None = None
    _closed: bool = False
    _lost: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, blocks: Sequence[GeneratedBlock], writing: str = "") -> None:
        with self._lock:
            if self._closed:  # the attempt ended: a call still streaming is told to stop
                raise CallAbandoned(f"{self.course_id}/{self.lesson_id}: the attempt has ended")
            if self._lost:
                raise LeaseLost(f"{self.course_id}/{self.lesson_id}")
            restarted = len(blocks) < self.written  # the model was asked again (a repair attempt)
            if len(blocks) == self.written and writing == self._writing and not restarted:
                return
            now = self.monotonic()
            boundary = len(blocks) != self.written  # a block finished (or a restart): written at once
            if not boundary and self._last is not None and now - self._last < self.interval:
                return  # a later call, or the final commit, writes the text
            self._write(list(blocks), writing, now, restarted=restarted)

    def _write(self, blocks: list[GeneratedBlock], writing: str, now: float, *, restarted: bool) -> None:
        landed = self.store.write_partial_lesson(
            self.course_id, self.lesson_id, self.claim, blocks, writing=writing or None, restarted=restarted
        )
        if not landed:
            self._lost = True
            raise LeaseLost(f"{self.course_id}/{self.lesson_id}")
        self.writes += 1
        self.written, self._writing, self._last = len(blocks), writing, now

    def close(self) -> None:
        """No write starts after this returns (the worker commits or releases next)."""
        with self._lock:
            self._closed = True


@dataclass
class OutlineWriter:
    """`writer(outline)` with the outline read so far (None: nothing yet, or a restart). Written
    only when something was finished since the last write (a header field, a module) or on a
    restart: at most three writes plus one per module, whatever the stream's pace."""

    store: PartialOutlineStore
    course_id: str
    claim: Claim
    writes: int = 0
    _shown: tuple[int, int] = (0, 0)  # (header fields written, modules written)
    _closed: bool = False
    _lost: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, outline: PartialOutline | None) -> None:
        with self._lock:
            if self._closed:  # the attempt ended: a call still streaming is told to stop
                raise CallAbandoned(f"{self.course_id}: the attempt has ended")
            if self._lost:
                raise LeaseLost(self.course_id)
            shown = _finished(outline)
            if shown == self._shown:
                return
            restarted = shown < self._shown
            landed = self.store.write_partial_outline(
                self.course_id, self.claim, outline or PartialOutline(), restarted=restarted
            )
            if not landed:
                self._lost = True
                raise LeaseLost(self.course_id)
            self.writes += 1
            self._shown = shown

    def close(self) -> None:
        """No write starts after this returns (the worker commits or releases next)."""
        with self._lock:
            self._closed = True


def _finished(outline: PartialOutline | None) -> tuple[int, int]:
    if outline is None:
        return 0, 0
    header = 1 + (outline.description is not None) + bool(outline.objectives)
    return header, len(outline.modules)
