"""The shapes of ids: stable once written (design invariant 8), checked before any lookup."""

from __future__ import annotations

import re

COURSE_ID_PATTERN = r"^[0-9a-f]{32}$"
LESSON_ID_PATTERN = r"^m\d{2}-l\d{2}$"
MODULE_ID_PATTERN = r"^m\d{2}$"
_COURSE_ID_RE = re.compile(COURSE_ID_PATTERN)
_LESSON_ID_RE = re.compile(LESSON_ID_PATTERN)


def is_course_id(value: str) -> bool:
    return bool(_COURSE_ID_RE.match(value))


def is_lesson_id(value: str) -> bool:
    return bool(_LESSON_ID_RE.match(value))


def lesson_key(module_index: int, lesson_index: int) -> str:
    """Deterministic from position, so a retried outline upserts instead of duplicating."""
    return f"m{module_index + 1:02d}-l{lesson_index + 1:02d}"
