"""Writes docs/examples/: a course outline and one lesson produced through the real `openai`
client (structured outputs) against the fake OpenAI-compatible server, with their token usage."""

from __future__ import annotations

import json
from pathlib import Path

from openai import OpenAI

from flowgen.adapters.openai_model import OpenAIModel
from flowgen.ports import LessonBrief, OutlineBrief
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.template import ROOT

PROMPT = "Rust ownership for C++ programmers"


def write_examples(target: Path = ROOT / "docs" / "examples") -> dict[str, int]:
    fake = FakeOpenAI().start()
    try:
        model = OpenAIModel(
            OpenAI(api_key="example", base_url=fake.base_url, max_retries=0),
            outline_model="gpt-4o-mini",
            lesson_model="gpt-4o-mini",
        )
        decision, outline_usage = model.outline(OutlineBrief(prompt=PROMPT, level="intermediate", size="standard"))
        course = decision.course
        assert course is not None
        module = course.modules[1]
        titles = [lesson.title for m in course.modules for lesson in m.lessons]
        position = titles.index(module.lessons[0].title)
        lesson, lesson_usage = model.lesson(
            LessonBrief(
                course_title=course.title,
                course_description=course.description,
                level="intermediate",
                module_title=module.title,
                lesson_title=module.lessons[0].title,
                lesson_summary=module.lessons[0].summary,
                previous_titles=titles[max(0, position - 3) : position],
                next_titles=titles[position + 1 : position + 3],
            )
        )
    finally:
        fake.stop()
    target.mkdir(parents=True, exist_ok=True)
    (target / "course.json").write_text(
        json.dumps(
            {"prompt": PROMPT, "usage": outline_usage.model_dump(by_alias=True), **decision.model_dump()}, indent=2
        )
        + "\n"
    )
    (target / "lesson.json").write_text(
        json.dumps({"usage": lesson_usage.model_dump(by_alias=True), **lesson.model_dump()}, indent=2) + "\n"
    )
    return {"outline_tokens": outline_usage.total_tokens, "lesson_tokens": lesson_usage.total_tokens}
