"""The events in events/: one per route the authorizer guards, one per worker's queue and one for
the scheduled reconciler, for `sam local invoke` and its Docker-free twin `flowgen invoke`.

They are generated (`flowgen events`), never edited by hand: routes come from template.yaml, so
a new route without an example here fails `flowgen events` (and its test). An api event carries
what API Gateway hands the function after the authorizer allowed the call (the caller in
`requestContext.authorizer.lambda`), so it needs no token; the authorizer's own event does, and
`flowgen token --authorizer-event` makes one with a token the running local stack accepts.
Times are fixed so that a regenerated file is byte-identical; the course and lesson ids are a
sample's, or a real course's with `--course`/`--lesson` (its outline, for the edit, is read from
the running stack).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from flowgen_local.events import http_event
from flowgen_local.template import Route, Template, load

SAMPLE_COURSE = "0123456789abcdef0123456789abcdef"
SAMPLE_LESSON = "m02-l01"
SAMPLE_CARD = "0123456789abcdef01234567"  # a flashcard id's shape (issue 23)
SAMPLE_SUB = "auth0|sample-user"
SAMPLE_SOURCE = "fedcba9876543210fedcba9876543210"  # a source id's shape (issue 24)
SAMPLE_TOKEN = "sAmPLe-sHaRE-LiNk-t0ken-0123456789abcdefghi"  # noqa: S105 - a share link's shape, shared by no one
FIXED_EPOCH = 1795608000  # 2026-11-25T12:00:00Z
FIXED_TIME = "25/Nov/2026:12:00:00 +0000"

# route key -> (file stem, body, query string)
ROUTE_EXAMPLES: dict[str, tuple[str, dict[str, Any] | None, str]] = {
    "POST /courses": (
        "api_create_course",
        {"prompt": "Rust ownership for C++ programmers", "level": "intermediate"},
        "",
    ),
    "GET /courses": ("api_list_courses", None, "limit=10"),
    "GET /courses/{courseId}": ("api_get_course", None, ""),
    "DELETE /courses/{courseId}": ("api_delete_course", None, ""),
    "PATCH /courses/{courseId}/outline": ("api_edit_outline", None, ""),  # body: _outline_edit
    "POST /courses/{courseId}/retry": ("api_retry_course", None, ""),
    "GET /courses/{courseId}/lessons/{lessonId}": ("api_open_lesson", None, ""),
    "POST /courses/{courseId}/lessons/{lessonId}/retry": ("api_retry_lesson", None, ""),
    "GET /courses/{courseId}/export.md": ("api_export_course", None, ""),
    "GET /courses/{courseId}/search": ("api_search_course", None, "q=ownership"),
    "POST /courses/{courseId}/lessons/{lessonId}/regenerate": (
        "api_regenerate_lesson",
        {"instruction": "More worked examples, please"},
        "",
    ),
    "PUT /courses/{courseId}/lessons/{lessonId}/version": ("api_select_version", {"version": 1}, ""),
    "GET /courses/{courseId}/lessons/{lessonId}/versions/{version}": ("api_read_version", None, ""),
    "POST /courses/{courseId}/lessons/{lessonId}/questions": (
        "api_ask_question",
        {"question": "Why can a value have only one owner?"},
        "",
    ),
    "GET /courses/{courseId}/lessons/{lessonId}/questions": ("api_list_questions", None, ""),
    "PUT /courses/{courseId}/lessons/{lessonId}/progress": (
        "api_record_progress",
        {"opened": True, "completed": True},
        "",
    ),
    "GET /courses/{courseId}/progress": ("api_course_progress", None, ""),
    "GET /progress": ("api_all_progress", None, ""),
    "POST /courses/{courseId}/share": ("api_share_course", None, ""),
    "DELETE /courses/{courseId}/share": ("api_stop_sharing", None, ""),
    "POST /shared/{token}/fork": ("api_fork_shared_course", None, ""),
    "GET /reviews/due": ("api_due_cards", None, "limit=20"),
    "POST /reviews/{cardId}": ("api_review_card", {"rating": "good"}, ""),
    "GET /courses/{courseId}/cards.csv": ("api_export_cards", None, ""),
    "POST /sources": (
        "api_create_source",
        {"filename": "lecture-3.pdf", "contentType": "application/pdf", "size": 482133},
        "",
    ),
    "GET /sources": ("api_list_sources", None, ""),
    "GET /sources/{sourceId}": ("api_get_source", None, ""),
    "DELETE /sources/{sourceId}": ("api_delete_source", None, ""),
    "$default": ("api_unmatched_route", None, ""),
}
WORKER_EVENTS = {  # file stem -> (function, queue, job)
    "course_worker": ("CourseWorkerFunction", "CourseQueue", {"courseId": "{course}", "ownerId": "{sub}"}),
    "lesson_worker_high": (
        "LessonWorkerFunction",
        "LessonHighQueue",
        {"courseId": "{course}", "lessonId": "{lesson}", "ownerId": "{sub}"},
    ),
    "lesson_worker_low": (
        "LessonWorkerFunction",
        "LessonLowQueue",
        {"courseId": "{course}", "lessonId": "{lesson}", "ownerId": "{sub}"},
    ),
}


def _outline_edit(outline: dict[str, Any] | None) -> dict[str, Any]:
    """The outline as it is, its first lesson retitled: an edit the API accepts for that course."""
    modules: list[dict[str, Any]]
    if outline is None:
        modules = [
            {"id": f"m{m:02d}", "title": f"Module {m}",
             "lessons": [{"id": f"m{m:02d}-l{n:02d}", "title": f"Lesson {m}.{n}"} for n in (1, 2)]}
            for m in (1, 2)
        ]  # fmt: skip
        version = 1
    else:
        modules = [
            {"id": module["id"], "title": module["title"],
             "lessons": [{"id": lesson["id"], "title": lesson["title"]} for lesson in module["lessons"]]}
            for module in outline["modules"]
        ]  # fmt: skip
        version = int(outline["version"])
    modules[0]["lessons"][0]["title"] = "Ownership, from first principles"
    return {"version": version, "modules": modules}


def _path(route: Route, course: str, lesson: str) -> tuple[str, dict[str, str]]:
    if route.path == "$default":
        return "/no/such/route", {}
    values = (
        ("courseId", course),
        ("lessonId", lesson),
        ("token", SAMPLE_TOKEN),
        ("sourceId", SAMPLE_SOURCE),
        ("cardId", SAMPLE_CARD),
        ("version", "1"),  # a lesson's first version (issue 26)
    )
    params = {k: v for k, v in values if "{" + k + "}" in route.path}
    return route.path.format(**params), params


def api_event(route: Route, *, course: str, lesson: str, sub: str, outline: dict[str, Any] | None = None) -> Any:
    stem, body, query = ROUTE_EXAMPLES[route.key]
    if stem == "api_edit_outline":
        body = _outline_edit(outline)
    path, params = _path(route, course, lesson)
    method = "GET" if route.path == "$default" else route.method
    headers = {"content-type": "application/json"} if body is not None else {}
    event = http_event(
        method,
        path,
        route=route,
        path_parameters=params,
        query=query,
        headers=headers,
        body=None if body is None else json.dumps(body),
    )
    context = event["requestContext"]
    context.update({"requestId": f"sample-{stem}", "time": FIXED_TIME, "timeEpoch": FIXED_EPOCH * 1000})
    context["authorizer"] = {"lambda": {"sub": sub, "scope": "openid courses", "exp": 4102444800}}
    return event


def sqs_event(queue: str, body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(body)
    return {
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(FIXED_EPOCH * 1000),
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": str(FIXED_EPOCH * 1000 + 1),
                    "MessageGroupId": body.get("ownerId", ""),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:flowgen-{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }


def s3_object_created(source: str) -> dict[str, Any]:
    """What S3 sends the ingest queue when a source's file is uploaded through its form."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-25T12:00:00.000Z",
                "eventName": "ObjectCreated:Post",
                "userIdentity": {"principalId": "AWS:AROAEXAMPLE:ApiFunction"},
                "requestParameters": {"sourceIPAddress": "203.0.113.7"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "ingest",
                    "bucket": {
                        "name": "flowgen-sources",
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": "arn:aws:s3:::flowgen-sources",
                    },
                    "object": {
                        "key": f"sources%2F{source}",
                        "size": 482133,
                        "eTag": "d41d8cd98f00b204",
                        "sequencer": "0A1B",
                    },
                },
            }
        ]
    }


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "sample",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-11-25T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def sample_events(
    template: Template | None = None,
    *,
    course: str = SAMPLE_COURSE,
    lesson: str = SAMPLE_LESSON,
    sub: str = SAMPLE_SUB,
    outline: dict[str, Any] | None = None,
) -> dict[str, tuple[str, Any]]:
    """file stem -> (function logical id, event), for every guarded route, queue and schedule."""
    template = template or load()
    guarded = [route for route in template.routes if route.authorized]
    missing = [route.key for route in guarded if route.key not in ROUTE_EXAMPLES]
    if missing:
        raise ValueError(f"no example event for {missing}: add one to ROUTE_EXAMPLES in {__name__}")
    events: dict[str, tuple[str, Any]] = {}
    for route in guarded:
        event = api_event(route, course=course, lesson=lesson, sub=sub, outline=outline)
        events[ROUTE_EXAMPLES[route.key][0]] = (route.function, event)
    for stem, (function, queue, job) in WORKER_EVENTS.items():
        body = {k: v.format(course=course, lesson=lesson, sub=sub) for k, v in job.items()}
        events[stem] = (function, sqs_event(queue, body))
    if "SourceWorkerFunction" in template.functions:  # S3's event for an uploaded source, on its queue
        events["source_worker"] = ("SourceWorkerFunction", sqs_event("IngestQueue", s3_object_created(SAMPLE_SOURCE)))
    for schedule in template.schedules:
        events["reconciler"] = (schedule.function, scheduled_event())
    return events


def write_events(out: Path, **kwargs: Any) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, (_, event) in sample_events(**kwargs).items():
        path = out / f"{stem}.json"
        path.write_text(json.dumps(event, indent=2) + "\n")
        written.append(path)
    return written
