"""An outline edit turned into the course's new modules and lessons (PATCH /courses/{id}/outline):
ids named by the edit are checked and kept, new lessons and modules get ids this course never had."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowgen.errors import InvalidRequest
from flowgen.records import Course, Lesson, LessonStatus, ModuleOutline
from flowgen.requests import OUTLINE_MAX_LESSONS, EditOutlineRequest, OutlineLessonEdit, OutlineModuleEdit


@dataclass
class OutlinePlan:
    """Turns an edit into the new modules and lessons, checking every id it names."""

    course: Course
    existing: dict[str, Lesson]

    def apply(self, request: EditOutlineRequest) -> tuple[list[ModuleOutline], list[Lesson]]:
        self._check(request)
        taken = set(self.existing) | set(self.course.retired_lesson_ids)
        taken_modules = {module.id for module in self.course.modules}
        modules: list[ModuleOutline] = []
        lessons: list[Lesson] = []
        for edit in request.modules:
            module_id = edit.id or _fresh("m{:02d}".format, taken_modules)
            taken_modules.add(module_id)
            placed = self._place(edit, module_id, taken, len(lessons))
            lessons.extend(placed)
            modules.append(ModuleOutline(id=module_id, title=edit.title, lesson_ids=[x.id for x in placed]))
        return modules, lessons

    def _place(self, edit: OutlineModuleEdit, module_id: str, taken: set[str], start: int) -> list[Lesson]:
        """The module's lessons in order, numbered on from `start` (the lessons before it); a new
        one gets an id not in `taken`, and every id placed is added to it."""
        placed: list[Lesson] = []
        for item in edit.lessons:
            lesson_id = item.id or _fresh(f"{module_id}-l{{:02d}}".format, taken)
            taken.add(lesson_id)
            placed.append(self._lesson(lesson_id, module_id, start + len(placed), item))
        return placed

    def _check(self, request: EditOutlineRequest) -> None:
        named_lessons, named_modules = _named_lessons(request), _named_modules(request)
        if _repeats(named_lessons) or _repeats(named_modules):
            raise InvalidRequest("a lesson or module appears twice in the outline", code="duplicate_id")
        self._check_known([*named_lessons, *named_modules])
        _check_size(request)

    def _check_known(self, named: list[str]) -> None:
        """Every id the edit names is one of this course's lessons or modules."""
        known = set(self.existing) | {module.id for module in self.course.modules}
        unknown = [i for i in named if i not in known]
        if unknown:
            raise InvalidRequest(f"no such lesson or module in this course: {', '.join(unknown)}", code="unknown_id")

    def _lesson(self, lesson_id: str, module_id: str, order: int, item: OutlineLessonEdit) -> Lesson:
        """The lesson as the edit places it: an existing one keeps everything but its place,
        title and (when given) summary; a new one is PENDING."""
        before = self.existing.get(lesson_id)
        summary = item.summary if item.summary is not None else (before.summary if before else "")
        fields = {"module_id": module_id, "order": order, "title": item.title, "summary": summary}
        if before is not None:
            return before.model_copy(update=fields)
        return Lesson(
            id=lesson_id,
            course_id=self.course.id,
            owner_id=self.course.owner_id,
            status=LessonStatus.PENDING,
            module_id=module_id,
            order=order,
            title=item.title,
            summary=summary,
        )


def _named_lessons(request: EditOutlineRequest) -> list[str]:
    """The lesson ids an edit names (new lessons have none)."""
    return [lesson.id for module in request.modules for lesson in module.lessons if lesson.id]


def _named_modules(request: EditOutlineRequest) -> list[str]:
    """The module ids an edit names (new modules have none)."""
    return [module.id for module in request.modules if module.id]


def _check_size(request: EditOutlineRequest) -> None:
    if sum(len(module.lessons) for module in request.modules) > OUTLINE_MAX_LESSONS:
        raise InvalidRequest(f"an outline holds at most {OUTLINE_MAX_LESSONS} lessons", code="outline_too_large")


def _repeats(ids: list[str]) -> bool:
    return len(set(ids)) != len(ids)


def _fresh(name: Callable[[int], str], taken: set[str]) -> str:
    for n in range(1, 100):
        if name(n) not in taken:
            return name(n)
    raise InvalidRequest("no id left for a new lesson or module here", code="outline_too_large")
