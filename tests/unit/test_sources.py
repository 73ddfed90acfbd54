"""A learner's document as chunks (issue 24): kind by bytes, pypdf within limits, pages and
headings kept, and every refusal a reason a person understands. The PDFs are written here."""

from __future__ import annotations

import pytest

from flowgen.sources import (
    DEFAULT_LIMITS,
    ExtractionLimits,
    SourceKind,
    UnreadableSource,
    detect_kind,
    extract,
)
from flowgen_local.documents import GUIDE_MARKDOWN, handbook_pages, pdf_bomb, pdf_bytes


def _refusal(data: bytes, content_type: str, limits: ExtractionLimits = DEFAULT_LIMITS) -> UnreadableSource:
    with pytest.raises(UnreadableSource) as caught:
        extract(data, content_type, limits)
    return caught.value


def test_a_pdf_is_read_page_by_page_and_every_chunk_keeps_its_page() -> None:
    pages = handbook_pages(12)
    source = extract(pdf_bytes(pages), "application/pdf")
    assert source.kind is SourceKind.PDF and source.pages == 12
    assert [c.ordinal for c in source.chunks] == list(range(len(source.chunks)))
    assert len({c.id for c in source.chunks}) == len(source.chunks)
    for chunk in source.chunks:
        assert chunk.page is not None
        unit = pages[chunk.page - 1][0].split("The ")[1]  # "Section n. The Aster unit" -> "Aster unit"
        assert unit in chunk.text
    assert {c.page for c in source.chunks} == set(range(1, 13))


def test_long_pages_are_cut_into_chunks_that_never_span_a_page_and_lose_no_word() -> None:
    long_page = [" ".join(f"word{i}." for i in range(400))]
    data = pdf_bytes([long_page, ["Second page text."]])
    source = extract(data, "application/pdf", ExtractionLimits(chunk_words=100))
    first = [c for c in source.chunks if c.page == 1]
    assert len(first) == 4 and all(len(c.text.split()) <= 100 for c in first)
    assert " ".join(c.text for c in first).split() == long_page[0].split()
    assert [c.text for c in source.chunks if c.page == 2] == ["Second page text."]


def test_re_extracting_gives_the_same_chunk_ids() -> None:
    data = pdf_bytes(handbook_pages(3))
    assert extract(data, "application/pdf") == extract(data, "application/pdf")


def test_markdown_chunks_keep_their_heading_path_and_code_fences_hide_no_heading() -> None:
    source = extract(GUIDE_MARKDOWN.encode(), "text/markdown")
    assert source.kind is SourceKind.MARKDOWN and source.pages is None
    by_heading = {c.heading: c.text for c in source.chunks}
    assert "every twelve hours" in by_heading["Sourdough field guide > Starter"]
    assert "doubles within six hours" in by_heading["Sourdough field guide > Starter > Signs of a healthy starter"]
    assert "Autolyse" in by_heading["Sourdough field guide > Dough"]
    assert "# not a heading" in by_heading["Sourdough field guide > Dough"]
    assert "Dutch oven" in by_heading["Sourdough field guide > Baking"]


def test_plain_text_is_chunked_by_paragraph_without_headings() -> None:
    text = "\n\n".join(f"Paragraph {i} says something about topic {i}." for i in range(50))
    source = extract(text.encode(), "text/plain", ExtractionLimits(chunk_words=40))
    assert source.kind is SourceKind.TEXT
    assert all(c.heading is None and c.page is None for c in source.chunks)
    assert " ".join(c.text for c in source.chunks).split() == text.split()
    assert all(len(c.text.split()) <= 40 for c in source.chunks)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n...", SourceKind.PDF),
        (b"\xef\xbb\xbf# Title\n\nbody", SourceKind.MARKDOWN),
        (b"just some notes\nmore", SourceKind.TEXT),
    ],
)
def test_the_kind_comes_from_the_bytes(data: bytes, kind: SourceKind) -> None:
    assert detect_kind(data) is kind


def test_a_name_or_declared_type_does_not_make_a_file_a_pdf() -> None:
    refusal = _refusal(b"# Notes\n\nA markdown file renamed notes.pdf", "application/pdf")
    assert refusal.code == "type_mismatch" and "contents are text" in refusal.reason
    refusal = _refusal(pdf_bytes([["hello"]]), "text/plain")
    assert refusal.code == "type_mismatch"
    assert _refusal(b"hello", "image/png").code == "unsupported_type"


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"PK\x03\x04\x14\x00\x00\x00" + bytes(range(32)) * 4],
)
def test_binary_files_are_not_text(data: bytes) -> None:
    assert _refusal(data, "text/plain").code == "unsupported_type"


def test_text_that_is_not_utf8_says_so() -> None:
    refusal = _refusal("Café crème".encode("latin-1"), "text/plain")
    assert refusal.code == "not_utf8" and "UTF-8" in refusal.reason


def test_a_pdf_without_text_asks_whether_it_is_scanned() -> None:
    refusal = _refusal(pdf_bytes([[], []]), "application/pdf")
    assert refusal.code == "no_text"
    assert refusal.reason == "no text could be extracted: is it a scanned PDF?"


def test_an_encrypted_pdf_is_refused_by_name_but_a_permissions_only_one_opens() -> None:
    refusal = _refusal(pdf_bytes([["secret page"]], password="hunter2"), "application/pdf")
    assert refusal.code == "encrypted" and refusal.reason.startswith("encrypted PDF")
    opened = extract(pdf_bytes([["open page"]], password=""), "application/pdf")
    assert opened.chunks[0].text == "open page"


def test_over_the_page_limit_is_refused_before_any_text_is_read() -> None:
    refusal = _refusal(pdf_bytes([["p"]] * 6), "application/pdf", ExtractionLimits(max_pages=5))
    assert refusal.code == "too_many_pages" and refusal.reason == "over 5 pages (6)"
    assert ExtractionLimits().max_pages == 300


def test_over_the_size_limit_is_refused() -> None:
    refusal = _refusal(b"x" * 2000, "text/plain", ExtractionLimits(max_bytes=1024 * 1024 // 1024))
    assert refusal.code == "too_large"
    assert ExtractionLimits().max_bytes == 20 * 1024 * 1024


def test_a_decompression_bomb_stops_at_the_stream_limit() -> None:
    bomb = pdf_bomb(40 * 1024 * 1024)
    assert len(bomb) < 100_000
    refusal = _refusal(bomb, "application/pdf", ExtractionLimits(max_stream_bytes=4 * 1024 * 1024))
    assert refusal.code == "too_complex"
    # the same stream under the limit is just a page of spaces
    assert _refusal(pdf_bomb(1024), "application/pdf").code == "no_text"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-1.7\n" + bytes(range(256)) * 8,
        pdf_bytes([["whole"]])[:400],
    ],
)
def test_a_damaged_pdf_is_a_reason_not_a_crash(data: bytes) -> None:
    assert _refusal(data, "application/pdf").code == "damaged"


def test_empty_files_are_refused() -> None:
    assert _refusal(b"  \n", "text/plain").code == "empty"
