"""Guards on a request body, run before anything parses it (docs/api.md, Limits).

Powertools' request validation would parse any JSON it is given, however deep (Python's
parser recurses: 1500 levels raise RecursionError), accept a form or a multipart body as if it
were JSON, and decode invalid UTF-8 with an exception of its own. These checks are linear in
the body's size and raise errors the API maps to 400, 413 and 415.
"""

from __future__ import annotations

import base64
import binascii

from flowgen.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024  # a course request is a 2000-character prompt and two enums: under 9 KiB in UTF-8
MAX_JSON_DEPTH = 16  # the deepest body the API takes is 1 level; 16 leaves room and stops a parser bomb
JSON_MEDIA_TYPE = "application/json"


def check_media_type(content_type: str | None) -> None:
    """Only `application/json`, optionally with `charset=utf-8`. Anything else is a 415, a missing
    header included: a form or a multipart body must never be read as if it were JSON."""
    media_type, *params = [part.strip() for part in (content_type or "").split(";")]
    if media_type.lower() != JSON_MEDIA_TYPE:
        shown = media_type or "none"
        raise UnsupportedMediaType(f"send the body as {JSON_MEDIA_TYPE} (got {shown})")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"send the body as {JSON_MEDIA_TYPE} in UTF-8 (got charset {value.strip()})")


def body_bytes(body: str | None, *, base64_encoded: bool) -> bytes:
    if not body:
        return b""
    if not base64_encoded:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedBody("the body could not be decoded") from None


def check_size(raw: bytes, limit: int = MAX_BODY_BYTES) -> None:
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; the limit is {limit} bytes")


def check_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"the body is not valid UTF-8 (byte {exc.start})") from None


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, in one pass (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    if json_depth(text) > limit:
        raise MalformedBody(f"the JSON body is nested deeper than {limit} levels")


def check_json_body(content_type: str | None, body: str | None, *, base64_encoded: bool) -> None:
    """Every guard, cheapest first: media type, size, encoding, depth. Parsing is left to the
    caller's validation, which now only ever sees a small, shallow, UTF-8 JSON document."""
    check_media_type(content_type)
    raw = body_bytes(body, base64_encoded=base64_encoded)
    check_size(raw)
    check_depth(check_utf8(raw))
