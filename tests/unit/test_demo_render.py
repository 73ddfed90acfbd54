"""`make demo` prints the lesson it opened as the API serves it (README, Two commands): a quiz
without its answers, since the API grades a submitted answer instead (flowgen.views)."""

from __future__ import annotations

from flowgen.views import LessonContentView
from flowgen_local.demo import render_lesson


def test_the_demo_renders_a_served_lesson_whose_quiz_has_no_answers() -> None:
    stored = {
        "generator": "offline",
        "blocks": [
            {"type": "markdown", "markdown": "Ownership moves."},
            {
                "type": "quiz",
                "questions": [
                    {
                        "question": "Who frees the value?",
                        "options": ["The caller", "Its owner"],
                        "answer_index": 1,
                        "explanation": "The owner drops it.",
                    }
                ],
            },
        ],
    }
    served = LessonContentView.model_validate(stored).model_dump(mode="json")
    assert "answer_index" not in served["blocks"][1]["questions"][0]
    text = render_lesson({"title": "Moves", "summary": "What a move does.", "content": served})
    assert "1. Who frees the value?" in text and "a) The caller" in text and "b) Its owner" in text
    assert "*" not in text  # nothing marks an answer the API did not send
