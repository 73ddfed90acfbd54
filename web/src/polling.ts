import type { CourseDetail } from "./types";

/** Nothing visible will change on its own: no outline pending, no lesson queued or generating. */
export function isCourseSettled(course: CourseDetail): boolean {
  if (course.status === "PENDING" || course.status === "GENERATING") return false;
  return course.modules.every((module) =>
    module.lessons.every(
      (lesson) => lesson.status === "GENERATED" || lesson.status === "FAILED" || (lesson.status === "PENDING" && !lesson.priority),
    ),
  );
}

export const POLL = { firstMs: 2000, maxMs: 15000, factor: 1.6, outlineMs: 1000, listMs: 2000 };

/** The outline is being written: it must appear within 2 s of the API having it, so poll
 * every second (one cheap read) until it does, whatever the backoff would say. */
export function isOutlineBuilding(course: Pick<CourseDetail, "status">): boolean {
  return course.status === "PENDING" || course.status === "GENERATING";
}

/** The course view's next poll: every POLL.outlineMs while the outline is written, then the backoff. */
export function coursePollDelay(course: CourseDetail, unchangedPolls: number): number | false {
  if (isOutlineBuilding(course)) return POLL.outlineMs;
  return nextPollDelay(isCourseSettled(course), unchangedPolls);
}

/** My courses: refreshes every POLL.listMs while any course's outline is being written, else never. */
export function listPollDelay(courses: Pick<CourseDetail, "status">[]): number | false {
  return courses.some(isOutlineBuilding) ? POLL.listMs : false;
}

/**
 * The next poll: the server's Retry-After when it gives one, else a delay that starts at
 * POLL.firstMs and grows by POLL.factor each time nothing changed (capped at POLL.maxMs).
 * `false` once settled: polling stops.
 */
export function nextPollDelay(settled: boolean, unchangedPolls: number, retryAfterSeconds: number | null = null): number | false {
  if (settled) return false;
  const backoff = Math.min(POLL.maxMs, POLL.firstMs * POLL.factor ** unchangedPolls);
  return retryAfterSeconds !== null ? Math.max(retryAfterSeconds * 1000, backoff) : backoff;
}

/** A fingerprint of what the user sees, to tell "changed" from "same again". */
export function courseFingerprint(course: CourseDetail): string {
  return JSON.stringify([
    course.status,
    course.lessonsGenerated,
    course.modules.map((m) => m.lessons.map((l) => `${l.status}:${l.priority ?? ""}`)),
  ]);
}
