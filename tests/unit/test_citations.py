"""Citations that check out (issue 24): kept only when the quote is in the cited chunk."""

from __future__ import annotations

from flowgen.citations import CheckedCitations, Citation, CitedChunk, check_citations, normalise
from flowgen.sources import extract
from flowgen_local.documents import handbook_pages, pdf_bytes

CHUNKS = {
    ("s1", "c00000"): CitedChunk("The Aster unit moves chilled water through the\nnorth turbine hall.", page=1),
    ("s1", "c00001"): CitedChunk("Inspection: every 7 days by the shift electrician.", page=2),
    ("s2", "c00000"): CitedChunk("Feed the starter every twelve hours.", page=None),
}


def test_a_quote_found_in_its_chunk_is_kept_with_the_chunks_page() -> None:
    checked = check_citations(
        [Citation("s1", "c00000", "  moves CHILLED water   through the north turbine hall ", page=9)], CHUNKS
    )
    assert checked == CheckedCitations(
        (Citation("s1", "c00000", "moves CHILLED water   through the north turbine hall", page=1),), 0
    )


def test_a_quote_from_another_chunk_an_unknown_chunk_or_source_is_dropped_and_counted() -> None:
    citations = [
        Citation("s1", "c00001", "moves chilled water through"),  # true, but of c00000
        Citation("s1", "c00009", "moves chilled water through"),  # no such chunk
        Citation("s3", "c00000", "Feed the starter every twelve hours."),  # not this course's source
        Citation("s1", "c00000", "moves hot water through the hall"),  # invented
        Citation("s2", "c00000", "Feed the starter every twelve hours."),  # true
    ]
    checked = check_citations(citations, CHUNKS)
    assert [c.source_id for c in checked.kept] == ["s2"] and checked.dropped == 4


def test_quotes_too_short_to_prove_anything_and_repeats_are_dropped() -> None:
    citations = [
        Citation("s1", "c00001", "every 7"),
        Citation("s1", "c00001", "every 7 days by the shift"),
        Citation("s1", "c00001", "EVERY 7 days by the shift"),
    ]
    checked = check_citations(citations, CHUNKS)
    assert len(checked.kept) == 1 and checked.dropped == 2


def test_normalising_folds_case_whitespace_quotes_dashes_and_ligatures() -> None:
    assert normalise("  The \u201cﬁrst\u201d\tstep \u2014 ever\u00adything\n") == 'the "first" step - everything'


def test_every_quote_taken_from_an_extracted_pdf_page_checks_out_on_that_page() -> None:
    pages = handbook_pages(6)
    source = extract(pdf_bytes(pages), "application/pdf")
    chunks = {("src", c.id): CitedChunk(c.text, c.page) for c in source.chunks}
    citations = [Citation("src", c.id, " ".join(c.text.split()[5:17])) for c in source.chunks]
    checked = check_citations(citations, chunks)
    assert checked.dropped == 0
    for citation in checked.kept:
        assert citation.page is not None
        assert normalise(citation.quote) in normalise(" ".join(pages[citation.page - 1]))
