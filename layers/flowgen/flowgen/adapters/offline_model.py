"""A deterministic model for runs without an API key. Its content says it is offline
sample content, so nobody mistakes it for a generated lesson."""

from __future__ import annotations

import hashlib
import json
import re

from flowgen.citations import MIN_QUOTE_CHARS, Passage
from flowgen.content import (
    CodeBlock,
    CourseOutline,
    DiagramBlock,
    Flashcard,
    GeneratedLesson,
    GeneratedQuizBlock,
    KeyPointsBlock,
    MarkdownBlock,
    OutlineDecision,
    OutlineLesson,
    OutlineModule,
    PartialOutline,
    QuizQuestion,
    SourceCitation,
)
from flowgen.ports import LessonBrief, OnBlocks, OnOutline, OnText, OutlineBrief, QuestionBrief
from flowgen.prompts import SIZES
from flowgen.records import Usage

OFFLINE_NOTICE = "_Offline sample content: no model was called. Set OPENAI_API_KEY for real lessons._"
_STAGES = ["Foundations", "Core ideas", "In practice", "Going deeper", "Patterns", "Mastery"]
_LESSON_ANGLES = ["What it is and why it matters", "How it works", "A worked example", "Common mistakes"]


def _topic(prompt: str) -> str:
    topic = " ".join(prompt.split())
    return topic if len(topic) <= 80 else topic[:77] + "..."


_DISALLOWED = ("make a bomb", "build a bomb", "make meth", "write malware", "child sexual")


_QUESTIONS = [
    ("When does '{title}' apply?", "It depends on the context", ["It is always wrong", "It is never needed"]),
    ("What is the first step with '{title}'?", "Understand the problem", ["Skip to the end", "Guess"]),
    ("How do you check you understood '{title}'?", "Try a small example", ["Memorise the title", "Ignore errors"]),
    ("What should follow '{title}'?", "Practice", ["Nothing", "Forgetting it"]),
    ("Who benefits from '{title}'?", "Anyone learning the topic", ["No one", "Only experts"]),
]
# why each wrong option above is wrong (without naming the right one), in the same order; short:
# a lesson's stream is read whole at each step (flowgen.streaming), so its length costs twice
_WHY_WRONG = [
    ["Few ideas are always wrong.", "The lesson shows where it is needed."],
    ["Skipping ahead leaves no plan.", "A guess cannot be checked."],
    ["A name is not the idea.", "Errors show what you missed."],
    ["Unused ideas fade.", "Forgetting needs no step."],
    ["It is written for someone.", "Not only for experts."],
]


def _questions(title: str, seed: int) -> list[QuizQuestion]:
    """3 to 5 questions (seeded by the title); the right option is always the first listed above,
    placed at a seeded position."""
    questions = []
    for k in range(3 + seed % 3):
        text, right, wrong = _QUESTIONS[k]
        answer = (seed >> (2 * k)) % 3
        options = [*wrong]
        options.insert(answer, right)
        feedback = [*_WHY_WRONG[k]]
        feedback.insert(answer, "")  # the right option: "Correct." and the explanation say it
        questions.append(
            QuizQuestion(
                question=text.format(title=title),
                options=options,
                answer_index=answer,
                explanation=f"Offline quiz: {right.lower()}.",
                option_feedback=feedback,
            )
        )
    return questions


def _flashcards(brief: LessonBrief, summary: str, questions: list[QuizQuestion], quiz_block: int) -> list[Flashcard]:
    """One card per quiz question (from the quiz block), and one from the lesson's goal (block 0).
    A version written with an instruction has a card about the instruction instead of the goal
    card: a rewrite keeps the quiz cards (their ids, so their history) and retires the goal card."""
    title = brief.lesson_title
    if brief.instruction:
        first = Flashcard(
            front=f"What was this version of '{title}' asked to do differently?",
            back=json.dumps(brief.instruction, ensure_ascii=False),
            block=1,
        )
    else:
        first = Flashcard(front=f"What will you be able to do after '{title}'?", back=summary, block=0)
    from_quiz = [
        Flashcard(front=q.question, back=f"{q.options[q.answer_index]}. {q.explanation}", block=quiz_block)
        for q in questions
    ]
    return [first, *from_quiz]


def not_learnable(topic: str) -> str:
    """The offline stand-in for the model's judgement: empty, gibberish or disallowed topics."""
    words = re.findall(r"[^\W\d_]+", topic.lower())
    letters = "".join(words)
    if len(letters) < 3:
        return "The prompt has no topic to learn: write a few words about what you want to study."
    vowels = sum(ch in "aeiouyàáâäèéêëìíîïòóôöùúûü" for ch in letters)
    if vowels / len(letters) < 0.15 or re.search(r"(.)\1{4,}", letters):
        return "The prompt does not read as a topic (it looks like random characters)."
    if any(phrase in topic.lower() for phrase in _DISALLOWED):
        return "FlowGen does not create courses on this topic."
    return ""


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _asked_for(language: str | None) -> str:
    """Says which language the model was asked for, so tests can see it reached the model."""
    return f"\n\nLanguage asked for: {language}." if language else ""


def _instructed(instruction: str | None) -> str:
    """Says which instruction a regeneration carried (quoted as data, as the model got it)."""
    return f"\n\nInstruction asked for: {json.dumps(instruction, ensure_ascii=False)}." if instruction else ""


def _goal(summary: str) -> str:
    """The lesson's first block, one short sentence, as the prompt asks a model for (LESSON_SYSTEM)."""
    return f"**After this lesson:** {summary[0].lower()}{summary[1:]}" if summary else "**A short lesson.**"


# a lesson about how something works (or its common mistakes: a check-and-fix loop) gets a diagram,
# as the prompt asks a model to draw one where a process explains better in a picture
# (LESSON_SYSTEM): in the offline outline, one lesson in three of a standard course, the last
# lesson of a long one (the one `make demo` opens)
_PROCESS = re.compile(r"\bhow\b.*\bworks?\b|\b(process|steps|lifecycle|pipeline|workflow|mistakes)\b", re.IGNORECASE)


def _label(text: str) -> str:
    """A title as a quoted Mermaid label: short, with what would end or escape the quotes as entities."""
    short = text if len(text) <= 60 else text[:57] + "..."
    for char, entity in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        short = short.replace(char, entity)
    return f'"{short}"'


def _diagram(brief: LessonBrief) -> DiagramBlock | None:
    """A flowchart of where the lesson sits: the lesson before it, this one, a small example, the next."""
    if not _PROCESS.search(brief.lesson_title):
        return None
    before = brief.previous_titles[-1] if brief.previous_titles else "The start of the course"
    after = brief.next_titles[0] if brief.next_titles else "The end of the course"
    source = (
        f"flowchart TD\n  before[{_label(before)}] --> lesson[{_label(brief.lesson_title)}]\n"
        f'  lesson --> example["Try a small example"]\n  example --> after[{_label(after)}]\n'
    )
    caption = f"From “{before}” to “{brief.lesson_title}”, then a small example, then “{after}”."
    return DiagramBlock(
        type="diagram", source=source, caption=caption if len(caption) <= 400 else caption[:397] + "..."
    )


# ---- grounded courses (issue 24): written from the passages in the prompt, quoting them verbatim ----

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
NOT_COVERED = "Your sources do not cover this lesson: what follows is general, not from them."


def _quote(text: str) -> str:
    """The passage's first sentence of 20 to 300 characters, exactly as it stands (a substring)."""
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        if 20 <= len(sentence) <= 300:
            return sentence
    stripped = text.strip()
    return stripped[:300].strip() if len(stripped) >= MIN_QUOTE_CHARS else ""


def _phrase(passage: Passage) -> str:
    """What a passage is about, for a lesson's title: its heading, else its opening words."""
    if passage.heading:
        return passage.heading.split(" > ")[-1].strip()[:80]
    words = (_quote(passage.text) or passage.text).replace("“", "").replace("”", "")
    return words if len(words) <= 60 else words[:57].rsplit(" ", 1)[0] + "..."


def _from_sources(passages: tuple[Passage, ...]) -> MarkdownBlock:
    """Quotes of the passages the lesson was given, each cited; the data is quoted, never obeyed."""
    lines: list[str] = []
    citations: list[SourceCitation] = []
    for passage in passages[:3]:
        quote = _quote(passage.text)
        if not quote:
            continue
        lines.append(f"> {quote}\n")
        citations.append(SourceCitation(source_id=passage.source_id, chunk_id=passage.chunk_id, quote=quote))
    if not citations:
        return MarkdownBlock(type="markdown", markdown=f"## From your sources\n\n{NOT_COVERED}")
    body = "\n".join(lines)
    return MarkdownBlock(
        type="markdown", markdown=f"## From your sources\n\nWhat your sources say:\n\n{body}", citations=citations
    )


def _grounded_modules(passages: tuple[Passage, ...], n_modules: int, n_lessons: int) -> list[OutlineModule]:
    """An outline that follows the digest of the sources: a lesson per passage, in their order."""
    phrases = list(dict.fromkeys(_phrase(p) for p in passages if _phrase(p)))
    modules = []
    for m in range(n_modules):
        lessons = []
        for n in range(n_lessons):
            k = m * n_lessons + n
            phrase = phrases[k % len(phrases)]
            # the document's words stay quoted, even in a title: they are data, never the lesson's own voice
            angle = "" if k < len(phrases) else f" ({_LESSON_ANGLES[n % len(_LESSON_ANGLES)].lower()})"
            title = f"“{phrase}”{angle}"
            summary = f"What your sources say about “{phrase}”."
            lessons.append(OutlineLesson(title=f"{_STAGES[m]}: {title}", summary=summary))
        modules.append(OutlineModule(title=f"{_STAGES[m]} of your sources", lessons=lessons))
    return modules


def _tokens(*texts: str) -> int:
    return max(1, sum(len(t) for t in texts) // 4)


class OfflineModel:
    name = "offline"

    def __init__(self, notice: str = OFFLINE_NOTICE) -> None:
        self.notice = notice

    def outline(self, brief: OutlineBrief) -> tuple[OutlineDecision, Usage]:
        topic = _topic(brief.prompt)
        usage = Usage(prompt_tokens=_tokens(brief.prompt) + 60, completion_tokens=20)
        refusal = not_learnable(topic)
        if refusal:
            return OutlineDecision(learnable=False, refusal_reason=refusal, course=None), usage
        n_modules, n_lessons = SIZES.get(brief.size or "standard", SIZES["standard"])
        modules = [
            OutlineModule(
                title=f"{_STAGES[m]} of {topic}",
                lessons=[
                    OutlineLesson(
                        title=f"{_STAGES[m]}: {_LESSON_ANGLES[n % len(_LESSON_ANGLES)].lower()}",
                        summary=f"{_LESSON_ANGLES[n % len(_LESSON_ANGLES)]} for {topic}, part {m + 1}.{n + 1}.",
                    )
                    for n in range(n_lessons)
                ],
            )
            for m in range(n_modules)
        ]
        if brief.passages and any(_phrase(p) for p in brief.passages):
            modules = _grounded_modules(brief.passages, n_modules, n_lessons)
        outline = CourseOutline(
            title=f"{topic}: {_article(brief.level or 'beginner')} {brief.level or 'beginner'} course",
            description=f"A structured path through {topic}. Offline sample outline.{_asked_for(brief.language)}",
            objectives=[f"Explain the core ideas of {topic}", f"Apply {topic} to a small example"],
            modules=modules,
        )
        usage.completion_tokens = _tokens(outline.model_dump_json())
        return OutlineDecision(learnable=True, refusal_reason="", course=outline), usage

    def outline_stream(self, brief: OutlineBrief, on_outline: OnOutline) -> tuple[OutlineDecision, Usage]:
        """Nothing to stream: the whole outline at once."""
        decision, usage = self.outline(brief)
        on_outline(_as_partial(decision))
        return decision, usage

    def lesson_stream(self, brief: LessonBrief, on_blocks: OnBlocks) -> tuple[GeneratedLesson, Usage]:
        """Nothing to stream: every block at once."""
        lesson, usage = self.lesson(brief)
        on_blocks(lesson.blocks, "")
        return lesson, usage

    def lesson(self, brief: LessonBrief) -> tuple[GeneratedLesson, Usage]:
        seed = int(hashlib.sha256(brief.lesson_title.encode()).hexdigest(), 16)
        previous = f" It builds on *{brief.previous_titles[-1]}*." if brief.previous_titles else ""
        # a lesson added in the outline editor may have no summary: its title says what it is about
        summary = brief.lesson_summary.strip() or f"What {brief.lesson_title} is and how to use it."
        questions = _questions(brief.lesson_title, seed)
        diagram = _diagram(brief)
        grounded = [_from_sources(brief.passages)] if brief.grounded else []
        lesson = GeneratedLesson(
            blocks=[
                MarkdownBlock(type="markdown", markdown=_goal(summary)),
                MarkdownBlock(
                    type="markdown",
                    markdown=(
                        f"{self.notice}\n\n## {brief.lesson_title}\n\n"
                        f"This lesson belongs to **{brief.module_title}** in *{brief.course_title}*. "
                        f"{summary}{previous}{_asked_for(brief.language)}"
                        f"{_instructed(brief.instruction)}"
                    ),
                ),
                CodeBlock(
                    type="code",
                    language="python",
                    code=f'lesson = "{brief.lesson_title}"\nprint(f"Studying {{lesson}}")\n',
                    caption="A placeholder example.",
                ),
                *grounded,
                *([diagram] if diagram else []),
                KeyPointsBlock(type="key_points", points=[summary, "Practice with a small example."]),
                GeneratedQuizBlock(type="quiz", questions=questions),
            ],
            flashcards=_flashcards(brief, summary, questions, quiz_block=4 + len(grounded) + bool(diagram)),
        )
        return lesson, Usage(
            prompt_tokens=_tokens(brief.lesson_title, brief.course_title) + 120,
            completion_tokens=_tokens(lesson.model_dump_json()),
        )

    def answer(self, brief: QuestionBrief) -> tuple[str, Usage]:
        """Says what it was asked (quoted as data, as the model gets it) and what the lesson holds."""
        text = (
            f"{self.notice}\n\nYou asked: {json.dumps(brief.question, ensure_ascii=False)}\n\n"
            f"The lesson *{brief.lesson_title}* of *{brief.course_title}* ({len(brief.lesson_text)} characters) "
            f"is where the answer lies: read it again with your question in mind.{_asked_for(brief.language)}"
        )
        if brief.earlier:
            text += f"\n\nYou asked {len(brief.earlier)} question(s) about it before."
        if brief.passages:  # a grounded course: quoted verbatim, cited by the passage's ref
            quotes = [(n, _quote(p.text)) for n, p in enumerate(brief.passages[:2], start=1)]
            text += "\n\nFrom your sources:" + "".join(f'\n\n> "{q}" [{n}]' for n, q in quotes if q)
        return text, Usage(
            prompt_tokens=_tokens(brief.lesson_text, brief.question) + 80, completion_tokens=_tokens(text)
        )

    def answer_stream(self, brief: QuestionBrief, on_text: OnText) -> tuple[str, Usage]:
        """The answer in a few pieces, at once (no model to wait for)."""
        text, usage = self.answer(brief)
        for end in range(0, len(text), 200):
            on_text(text[:end])
        on_text(text)
        return text, usage


def _as_partial(decision: OutlineDecision) -> PartialOutline | None:
    """A whole outline as the stream's last partial one would read it (None for a refusal)."""
    course = decision.course
    if course is None:
        return None
    return PartialOutline(
        title=course.title, description=course.description, objectives=course.objectives, modules=course.modules
    )
