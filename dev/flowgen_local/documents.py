"""Documents made on the spot for issue 24's tests, bench and demo: real PDFs written with
pypdf (a Helvetica text page per list of lines), and a plant handbook whose every page answers
one labelled question, so retrieval can be measured on text nobody downloaded.

The handbook's pages share one template on purpose: they differ in the words that matter (the
unit, what it handles, where, how often, who), which is what retrieval must tell apart.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject

LINE_CHARS = 90


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _wrap(paragraph: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in paragraph.split():
        if current and len(current) + 1 + len(word) > LINE_CHARS:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines


def _font() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )


def pdf_bytes(pages: list[list[str]], *, password: str | None = None) -> bytes:
    """A PDF with one page per item, each paragraph wrapped and set in 10 pt Helvetica (ASCII
    text); an empty item is a page with no text at all, as a scanned page is to a text extractor."""
    writer = PdfWriter()
    for paragraphs in pages:
        page = writer.add_blank_page(612, 792)
        commands = ["BT", "/F1 10 Tf", "12 TL", "50 750 Td"]
        for paragraph in paragraphs:
            for line in _wrap(paragraph):
                commands.append(f"({_escape(line)}) Tj T*")
            commands.append("T*")
        commands.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(commands).encode("latin-1") if paragraphs else b"")
        page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(_font())})}
        )
    if password is not None:
        writer.encrypt(user_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_bomb(expanded_bytes: int) -> bytes:
    """A one-page PDF whose content stream is `expanded_bytes` of spaces, deflated to a few kB."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    stream = StreamObject()
    compressed = zlib.compress(b" " * expanded_bytes, 9)
    stream._data = compressed
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# The labelled handbook ---------------------------------------------------------------------

UNITS = [
    "Aster",
    "Birch",
    "Cobalt",
    "Delta",
    "Ember",
    "Falcon",
    "Garnet",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nimbus",
    "Onyx",
    "Pioneer",
    "Quartz",
    "Raven",
    "Sierra",
    "Tundra",
    "Umber",
    "Vesper",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
    "Alder",
    "Basalt",
    "Cedar",
    "Dune",
    "Egret",
    "Fjord",
    "Glacier",
    "Heron",
    "Indigo",
    "Jasper",
    "Kelp",
    "Lotus",
    "Mesa",
    "Nova",
    "Orchid",
    "Pebble",
    "Quill",
    "Reef",
    "Sable",
    "Thistle",
    "Upland",
    "Violet",
    "Walnut",
    "Yucca",
]
SUBSTANCES = [
    "chilled water",
    "steam condensate",
    "compressed air",
    "lubricating oil",
    "hydraulic fluid",
    "cooling brine",
    "natural gas",
    "nitrogen purge",
    "boiler feedwater",
    "wastewater sludge",
]
PLACES = [
    "north turbine hall",
    "east boiler house",
    "south loading dock",
    "west pump room",
    "central control room",
]
ROLES = [
    "shift electrician",
    "senior millwright",
    "instrument technician",
    "safety officer",
    "process engineer",
]
SYMPTOMS = [
    "a rising hum above eighty decibels",
    "amber warning lamps on the panel",
    "frost forming on the outlet pipe",
    "a sweet smell near the gaskets",
    "pressure needles that flutter",
    "a slow drip under the flange",
    "a rattle every few seconds",
    "steam wisps around the seals",
    "the housing too hot to touch",
    "a drop in flow readings",
]
REMEDIES = [
    "close the upstream isolation valve",
    "switch to the standby pump",
    "vent the line through the bleed port",
    "reset the controller from the local panel",
    "call the duty manager before touching anything",
]


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    page: int  # 1-based page that answers it
    answer: str  # words found on that page


def _unit(i: int) -> tuple[str, str, str, str, str, str, int]:
    return (
        UNITS[i],
        SUBSTANCES[i % len(SUBSTANCES)],
        PLACES[(i // len(SUBSTANCES)) % len(PLACES)],
        ROLES[(i * 3) % len(ROLES)],
        SYMPTOMS[(i * 7) % len(SYMPTOMS)],
        REMEDIES[(i * 2) % len(REMEDIES)],
        7 * (1 + i % 9) + i // 9,
    )


def handbook_pages(count: int = 50) -> list[list[str]]:
    """A plant handbook, one unit per page: what it carries, where, its inspection interval, who
    inspects it, its failure symptom and the first response."""
    pages = []
    for i in range(count):
        name, substance, place, role, symptom, remedy, days = _unit(i)
        pages.append(
            [
                f"Section {i + 1}. The {name} unit",
                f"The {name} unit moves {substance} through the {place}. It was installed to keep the "
                f"{substance} supply steady when demand peaks, and it runs whenever the plant is producing.",
                f"Inspection: the {name} unit is inspected every {days} days by the {role}, who records "
                f"the readings in the maintenance log and signs the tag on the housing.",
                f"Failure signs: when the {name} unit starts to fail, operators notice {symptom}. "
                f"The first response is to {remedy}, then report the fault to the {role}.",
                "General rule: never bypass an interlock, and wear hearing protection in every hall.",
            ]
        )
    return pages


def handbook_questions(count: int = 50) -> list[LabelledQuestion]:
    """Two questions per page, worded apart from the page (no unit names): one asks who looks
    after the unit carrying a substance in a place, the other what to do about its symptom."""
    questions = []
    for i in range(count):
        _name, substance, place, role, symptom, remedy, days = _unit(i)
        questions.append(
            LabelledQuestion(f"How often is the unit carrying {substance} in the {place} inspected?", i + 1, str(days))
        )
        questions.append(
            LabelledQuestion(
                f"What should an operator do first when the {substance} unit in the {place} shows {symptom}?",
                i + 1,
                remedy,
            )
        )
    return questions


GUIDE_MARKDOWN = """# Sourdough field guide

## Starter

A starter is flour and water colonised by wild yeast and lactic acid bacteria. Feed it equal
weights of flour and water every twelve hours at room temperature.

### Signs of a healthy starter

It doubles within six hours of a feed, smells pleasantly sour, and is full of small bubbles.

## Dough

```
# not a heading: a comment in a code block
flour 1000 g, water 750 g, salt 20 g
```

Autolyse the flour and water for forty minutes before adding the starter and the salt.

## Baking

Bake in a preheated Dutch oven at 250 degrees for twenty minutes with the lid on, then twenty
more without it.
"""


# Questions on the guide, worded as a learner would ask them: (question, heading of the answer).
GUIDE_QUESTIONS = [
    ("How often do I need to feed my starter?", "Sourdough field guide > Starter"),
    (
        "How can I tell whether the starter is healthy and active?",
        "Sourdough field guide > Starter > Signs of a healthy starter",
    ),
    ("How long should the flour and water rest before the salt goes in?", "Sourdough field guide > Dough"),
    ("What temperature is the oven for baking the loaf?", "Sourdough field guide > Baking"),
    ("What microbes live in a starter?", "Sourdough field guide > Starter"),
]
