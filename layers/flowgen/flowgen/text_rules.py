"""Rules for text a person submits, in code (pydantic) and as patterns a fuzzer can generate
from (the OpenAPI document): characters that show, and a language's name."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

PROMPT_MAX_CHARS = 2000
PROMPT_MIN_VISIBLE = 3
# Characters that do not show: controls, format characters (zero-width, bidi marks), lone
# surrogates, spaces, line and paragraph separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


def visible_length(text: str) -> int:
    return sum(1 for char in text if unicodedata.category(char) not in INVISIBLE_CATEGORIES)


def visible_prompt_pattern(minimum: int = PROMPT_MIN_VISIBLE) -> str:
    """The same rule as a regular expression, for the OpenAPI document: three characters outside
    INVISIBLE_CATEGORIES, each run of invisible ones before them skipped (linear to match).
    Surrogates (Cs) are left out: no UTF-8 text holds one, and JSON Schema validators built on
    Unicode scalar values (jsonschema-rs) refuse a pattern that names them."""
    invisible = _invisible_class()
    return "^" + f"[{invisible}]*[^{invisible}]" * minimum


@functools.cache
def _invisible_class() -> str:
    """The invisible characters as a class body, made once per process, not once per field the
    OpenAPI document patterns."""
    invisible = INVISIBLE_CATEGORIES - {"Cs"}
    return _class_body(_code_point_runs(lambda chars: map(invisible.__contains__, map(unicodedata.category, chars))))


def _code_point_runs(flags: Callable[[Iterator[str]], Iterator[bool]]) -> Iterator[tuple[int, int]]:
    """The runs (first, last) of code points whose flag is true. The scan of all 1.1 million code
    points stays in C (map over builtins, then one regular expression over the flags): a Python
    loop took 0.6 s a pattern, and 10-20 s under a line tracer (coverage), in every process
    that built the OpenAPI document."""
    marks = bytes(flags(map(chr, range(0x110000))))
    return ((run.start(), run.end() - 1) for run in re.finditer(b"\x01+", marks))


def _class_body(runs: Iterable[tuple[int, int]]) -> str:
    def char(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in runs)


def one_visible(value: str) -> str:
    if visible_length(value) < 1:
        raise ValueError("the text needs a visible character")
    return value


def _visible_prompt(value: str) -> str:
    if visible_length(value) < PROMPT_MIN_VISIBLE:
        raise ValueError(f"the prompt needs at least {PROMPT_MIN_VISIBLE} visible characters")
    return value


Prompt = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=PROMPT_MAX_CHARS),
    AfterValidator(_visible_prompt),
]

LANGUAGE_MIN_CHARS, LANGUAGE_MAX_CHARS = 2, 40
_LANGUAGE_PUNCTUATION = " ()-"


@functools.cache
def language_pattern() -> str:
    """A language's name: letters (any script), spaces, hyphens and parentheses, 2-40 characters,
    starting with a letter and ending with a letter or `)` ("German", "Hinglish", "Portuguese
    (Brazil)"). One pattern for pydantic and the OpenAPI document (so a fuzzer generates valid ones)."""
    letters = _class_body(_code_point_runs(lambda chars: map(str.isalpha, chars)))  # no surrogate is alphabetic
    middle = LANGUAGE_MAX_CHARS - 2
    return f"^[{letters}][{letters} ()\\-]{{0,{middle}}}[{letters})]$"


def _language(value: str) -> str:
    if not LANGUAGE_MIN_CHARS <= len(value) <= LANGUAGE_MAX_CHARS:
        raise ValueError(f"the language needs {LANGUAGE_MIN_CHARS} to {LANGUAGE_MAX_CHARS} characters")
    if not (value[0].isalpha() and (value[-1].isalpha() or value[-1] == ")")):
        raise ValueError("the language starts with a letter and ends with a letter or `)`")
    if any(not (c.isalpha() or c in _LANGUAGE_PUNCTUATION) for c in value):
        raise ValueError("the language holds only letters, spaces, hyphens and parentheses")
    return value


Language = Annotated[str, AfterValidator(_language)]
