"""A learner's own document as passages (issue 24): its kind told by its bytes, its text
extracted within limits, and chunks that keep their page (PDF) or heading (Markdown).

Pure domain code: bytes in, chunks out. Nothing here reads S3 or MongoDB; the ingestion worker
brings the bytes and stores the chunks. Every refusal is an `UnreadableSource` whose `reason` a
person understands and whose `code` a client can branch on; a poisoned file is one of them,
never an exception that would send its message round the queue again.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypdf import PdfReader

PDF_MAGIC = b"%PDF-"
MB = 1024 * 1024


class SourceKind(StrEnum):
    PDF = "pdf"
    MARKDOWN = "markdown"
    TEXT = "text"


# The content types a client may declare, and the kinds whose bytes may stand behind each.
CONTENT_TYPES: dict[str, frozenset[SourceKind]] = {
    "application/pdf": frozenset({SourceKind.PDF}),
    "text/markdown": frozenset({SourceKind.MARKDOWN, SourceKind.TEXT}),
    "text/plain": frozenset({SourceKind.TEXT, SourceKind.MARKDOWN}),
}


class UnreadableSource(Exception):
    """Why a file cannot be a source, in words for its owner (`reason`) and for a client (`code`)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class ExtractionLimits:
    """What one file may cost. `max_stream_bytes` caps what any one compressed PDF stream may
    expand to and `max_decoding_bytes` the decoding work per stream (pypdf's limits against
    decompression bombs); `max_text_chars` caps the text kept from the whole file."""

    max_bytes: int = 20 * MB
    max_pages: int = 300
    max_stream_bytes: int = 16 * MB
    max_decoding_bytes: int = 48 * MB
    max_text_chars: int = 3_000_000
    chunk_words: int = 160


DEFAULT_LIMITS = ExtractionLimits()


@dataclass(frozen=True)
class Chunk:
    """One passage: `id` is stable for its source (re-ingesting writes the same ids), `page` is
    1-based for a PDF and None otherwise, `heading` the Markdown section path ("A > B")."""

    id: str
    ordinal: int
    text: str
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True)
class ExtractedSource:
    kind: SourceKind
    pages: int | None
    chunks: tuple[Chunk, ...]


def detect_kind(data: bytes) -> SourceKind:
    """PDF, Markdown or plain text, from the bytes alone (never the name)."""
    head = data[:1024]
    if PDF_MAGIC in head:  # the spec lets junk precede the header within the first 1024 bytes
        return SourceKind.PDF
    text = _decode_text(data)
    return SourceKind.MARKDOWN if _looks_like_markdown(text) else SourceKind.TEXT


def check_declared_type(content_type: str, kind: SourceKind) -> None:
    allowed = CONTENT_TYPES.get(content_type)
    if allowed is None:
        raise UnreadableSource("unsupported_type", "only PDF, Markdown and plain text files can be sources")
    if kind not in allowed:
        said = "a PDF" if content_type == "application/pdf" else "text"
        found = "a PDF" if kind is SourceKind.PDF else "text"
        raise UnreadableSource("type_mismatch", f"the file was sent as {said} but its contents are {found}")


def extract(data: bytes, content_type: str, limits: ExtractionLimits = DEFAULT_LIMITS) -> ExtractedSource:
    """The file's chunks, or UnreadableSource saying why there are none."""
    if len(data) > limits.max_bytes:
        raise UnreadableSource("too_large", f"the file is over {limits.max_bytes // MB} MB")
    if not data.strip():
        raise UnreadableSource("empty", "the file is empty")
    kind = detect_kind(data)
    check_declared_type(content_type, kind)
    if kind is SourceKind.PDF:
        pages = _pdf_pages(data, limits)
        chunks = list(_page_chunks(pages, limits.chunk_words))
        if not chunks:
            raise UnreadableSource("no_text", "no text could be extracted: is it a scanned PDF?")
        return ExtractedSource(kind, len(pages), tuple(chunks))
    text = _decode_text(data)
    if len(text) > limits.max_text_chars:
        raise UnreadableSource("too_much_text", f"the file holds over {limits.max_text_chars:,} characters of text")
    if kind is SourceKind.MARKDOWN:
        chunks = list(_markdown_chunks(text, limits.chunk_words))
    else:
        chunks = [
            Chunk(_chunk_id(i), i, body) for i, body in enumerate(_split_words(_paragraphs(text), limits.chunk_words))
        ]
    if not chunks:
        raise UnreadableSource("no_text", "the file has no text in it")
    return ExtractedSource(kind, None, tuple(chunks))


def _chunk_id(ordinal: int) -> str:
    return f"c{ordinal:05d}"


# Text files --------------------------------------------------------------------------------


def _decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableSource("unsupported_type", "only PDF, Markdown and plain text files can be sources")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableSource(
            "not_utf8", "the text is not UTF-8: save it as UTF-8 (or as a PDF) and upload it again"
        ) from None
    controls = sum(1 for c in text[:8192] if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f")
    if controls > 8:
        raise UnreadableSource("unsupported_type", "only PDF, Markdown and plain text files can be sources")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^(```|~~~)")


def _looks_like_markdown(text: str) -> bool:
    return any(_HEADING.match(line) for line in text.split("\n", 2000)[:2000])


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def _markdown_chunks(text: str, chunk_words: int) -> Iterator[Chunk]:
    ordinal = 0
    for heading, body in _markdown_sections(text):
        for piece in _split_words(_paragraphs(body), chunk_words):
            yield Chunk(_chunk_id(ordinal), ordinal, piece, heading=heading)
            ordinal += 1


def _markdown_sections(text: str) -> Iterator[tuple[str | None, str]]:
    """(heading path, body) per section; a heading inside a code fence is code, not a heading."""
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line.strip()):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        yield _path(path), "\n".join(lines)
        level = len(match.group(1))
        path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, match.group(2).strip())]
        lines = []
    yield _path(path), "\n".join(lines)


def _path(path: list[tuple[int, str]]) -> str | None:
    return " > ".join(title for _, title in path) or None


# Chunking ----------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _split_words(paragraphs: list[str], chunk_words: int) -> Iterator[str]:
    """Paragraphs packed into chunks of at most `chunk_words` words; a longer paragraph is cut
    at sentence ends, and a longer sentence at word boundaries. Text is never lost or repeated."""
    current: list[str] = []
    count = 0
    for paragraph in paragraphs:
        for piece in _pieces(paragraph, chunk_words):
            words = len(piece.split())
            if current and count + words > chunk_words:
                yield " ".join(current)
                current, count = [], 0
            current.append(piece)
            count += words
    if current:
        yield " ".join(current)


def _pieces(paragraph: str, chunk_words: int) -> Iterator[str]:
    if len(paragraph.split()) <= chunk_words:
        yield paragraph
        return
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        for start in range(0, len(words), chunk_words):
            yield " ".join(words[start : start + chunk_words])


def _page_chunks(pages: list[str], chunk_words: int) -> Iterator[Chunk]:
    """A chunk never spans two pages, so its page is the page its quote is on."""
    ordinal = 0
    for number, text in enumerate(pages, start=1):
        for piece in _split_words(_pdf_paragraphs(text), chunk_words):
            yield Chunk(_chunk_id(ordinal), ordinal, piece, page=number)
            ordinal += 1


def _pdf_paragraphs(text: str) -> list[str]:
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)  # words hyphenated across a line end
    return _paragraphs(text)


# PDF ---------------------------------------------------------------------------------------


ENCRYPTED = "encrypted PDF: remove its password and upload it again"


def _pdf_pages(data: bytes, limits: ExtractionLimits) -> list[str]:
    """Each page's text, read with pypdf under limits tighter than its defaults (which allow
    75 MB per stream): a compressed stream that would expand past `max_stream_bytes` stops the
    read instead of exhausting a worker's memory."""
    from pypdf import apply_configuration
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

    caps = limits.max_stream_bytes
    try:
        with apply_configuration(
            maximum_declared_stream_length=caps,
            array_based_stream_maximum_output_length=caps,
            jbig2_maximum_output_length=caps,
            lzw_maximum_output_length=caps,
            run_length_maximum_output_length=caps,
            zlib_maximum_output_length=caps,
            brotli_maximum_output_length=caps,
            image_maximum_buffer_size=caps,
            stream_decoding_work_maximum_length=limits.max_decoding_bytes,
            jbig2dec_binary=None,  # never run an external decoder on an upload
        ):
            return _read_pdf(data, limits)
    except FileNotDecryptedError:
        raise UnreadableSource("encrypted", ENCRYPTED) from None
    except LimitReachedError:
        raise UnreadableSource(
            "too_complex", "the PDF expands to more than it is safe to read (a compressed part is too large)"
        ) from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        # pypdf reports a damaged file through its own errors and, for some damage, plain ones
        raise UnreadableSource("damaged", "the PDF could not be read: it may be damaged") from None


def _read_pdf(data: bytes, limits: ExtractionLimits) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not _opens_without_password(reader):
        raise UnreadableSource("encrypted", ENCRYPTED)
    count = len(reader.pages)
    if count > limits.max_pages:
        raise UnreadableSource("too_many_pages", f"over {limits.max_pages} pages ({count})")
    pages: list[str] = []
    total = 0
    for page in reader.pages:
        # extract_text() logs a stream it may not decode and reads the page as empty; the
        # contents read first raise it, so a bomb is said to be one, not a scanned page
        page.get_contents()
        text = page.extract_text() or ""
        total += len(text)
        if total > limits.max_text_chars:
            raise UnreadableSource("too_much_text", f"the file holds over {limits.max_text_chars:,} characters of text")
        pages.append(text)
    return pages


def _opens_without_password(reader: PdfReader) -> bool:
    """A PDF encrypted with an empty user password (permissions only) opens as it is; pypdf has
    already tried the empty password when it read the file."""
    from pypdf import PasswordType

    try:
        return bool(reader.decrypt("") != PasswordType.NOT_DECRYPTED)
    except Exception:  # an unsupported security handler is as closed as a password
        return False
