"""The jobs the queues carry (SQS message bodies, JSON in camelCase)."""

from __future__ import annotations

from flowgen.schema import Model


class CourseJob(Model):
    course_id: str
    owner_id: str
    deferrals: int = 0  # times the rate limiter sent it back (each waits longer: scheduling.deferral_delay)


class LessonJob(Model):
    """The lesson's priority is not here: MongoDB's record holds it (the worker reads it there).
    With `question_id`, the job answers that question about the lesson (always high priority)."""

    course_id: str
    lesson_id: str
    owner_id: str
    question_id: str | None = None
    deferrals: int = 0  # times the rate limiter sent it back (each waits longer: scheduling.deferral_delay)
