import type { CourseDetail, Lesson, QuestionThread, QuestionView } from "./api/types";
import { RETRY_MARGIN_MS, untilRetry, type Attempted } from "./failures";

/** Nothing visible will change on its own: no outline pending, no lesson queued or generating. */
export function isCourseSettled(course: CourseDetail): boolean {
  if (course.status === "PENDING" || course.status === "GENERATING") return false;
  return course.modules.every((module) =>
    module.lessons.every(
      (lesson) =>
        lesson.status === "GENERATED" || lesson.status === "FAILED" || (lesson.status === "PENDING" && !lesson.priority && !lesson.error),
    ),
  );
}

export const POLL = {
  firstMs: 2000, maxMs: 15000, factor: 1.6, outlineMs: 1000, listMs: 2000, writingMs: 1000, soonestMs: 250,
  /** The longest wait for a retry time (a clock behind the API's must not stop the screen). */
  retryCapMs: 30000,
};

/**
 * While a failed attempt waits for its retry (PENDING, `retryAt` ahead): nothing changes before
 * then (the API claims nothing sooner), so the next poll is just after it, never sooner than
 * `floorMs` (the usual pace, Retry-After) and never later than POLL.retryCapMs. Null otherwise.
 */
export function retryPollDelay(item: Attempted, floorMs: number, now: number = Date.now()): number | null {
  const wait = untilRetry(item, now);
  if (wait === null) return null;
  return Math.min(POLL.retryCapMs, Math.max(floorMs, wait + RETRY_MARGIN_MS));
}

/** The outline is being written: it must appear within 2 s of the API having it, so poll
 * every second (one cheap read) until it does, whatever the backoff would say. */
export function isOutlineBuilding(course: Pick<CourseDetail, "status">): boolean {
  return course.status === "PENDING" || course.status === "GENERATING";
}

/** The course view's next poll: every POLL.outlineMs while the outline is written, then the backoff. */
export function coursePollDelay(course: CourseDetail, unchangedPolls: number, now: number = Date.now()): number | false {
  if (isOutlineBuilding(course)) {
    const floor = Math.max(POLL.outlineMs, (course.retryAfter ?? 0) * 1000);
    return retryPollDelay(course, floor, now) ?? floor;
  }
  const delay = nextPollDelay(isCourseSettled(course), unchangedPolls);
  if (delay === false) return false;
  // only lessons waiting for a retry keep it unsettled: look again just after the first of them
  const unsettled = course.modules
    .flatMap((m) => m.lessons)
    .filter((l) => l.status === "GENERATING" || (l.status === "PENDING" && (l.priority || l.error)));
  const waits = unsettled.map((l) => retryPollDelay(l, POLL.firstMs, now));
  if (waits.length > 0 && waits.every((w) => w !== null)) return Math.min(...(waits as number[]));
  return delay;
}

/** My courses: refreshes every POLL.listMs while any course's outline is being written (just after
 * its retry time while a failed attempt waits for it), else never. */
export function listPollDelay(
  courses: (Pick<CourseDetail, "status"> & Partial<Pick<CourseDetail, "error" | "retryAt">>)[],
  now: number = Date.now(),
): number | false {
  const delays = courses.filter(isOutlineBuilding).map((c) => retryPollDelay(c, POLL.listMs, now) ?? POLL.listMs);
  return delays.length > 0 ? Math.min(...delays) : false;
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

/** What a fetch brings back: the status, the body and the Retry-After header (seconds). */
interface Polled<T> {
  status: number;
  data: T;
  retryAfter: number | null;
}

/** Never sooner than the server asks: its Retry-After header, else the one in the body. */
function retryAfterOf(polled: Polled<{ retryAfter?: number | null }>): number | null {
  return polled.retryAfter ?? polled.data.retryAfter ?? null;
}

/**
 * The lesson view's next poll: none once it is written or failed (200). While it is not, when the
 * server says exactly (`retryAfterMs`: half a second while the first block is written, a second
 * while blocks flow or it is queued), then; else at its Retry-After while it is written (at least
 * POLL.writingMs) and with the usual backoff while it is queued (never sooner than Retry-After).
 */
export function lessonPollDelay(
  fetched: Polled<Pick<Lesson, "status" | "retryAfter" | "retryAfterMs"> & Partial<Pick<Lesson, "error" | "retryAt">>>,
  now: number = Date.now(),
): number | false {
  if (fetched.status !== 202) return false;
  const waiting = retryPollDelay(fetched.data, nextPollDelay(false, 0, retryAfterOf(fetched)) as number, now);
  if (waiting !== null) return waiting; // a failed attempt: the next one starts at retryAt
  const exact = fetched.data.retryAfterMs;
  if (typeof exact === "number" && exact > 0) return Math.max(POLL.soonestMs, exact);
  const retryAfter = retryAfterOf(fetched);
  if (fetched.data.status === "GENERATING") return Math.max(POLL.writingMs, (retryAfter ?? 0) * 1000);
  return nextPollDelay(false, 0, retryAfter);
}

export function isQuestionPending(question: Pick<QuestionView, "status">): boolean {
  return question.status === "QUEUED" || question.status === "ANSWERING";
}

/**
 * The question thread's next poll: only while a question waits for its answer; at the server's
 * Retry-After (at least POLL.writingMs) while one is answered, so the answer grows as it is written.
 */
export function questionsPollDelay(fetched: Polled<QuestionThread>): number | false {
  const pending = fetched.data.items.filter(isQuestionPending);
  if (pending.length === 0) return false;
  const retryAfter = retryAfterOf(fetched);
  const floor = pending.some((q) => q.status === "ANSWERING") ? POLL.writingMs : POLL.firstMs;
  return Math.max(floor, (retryAfter ?? 0) * 1000);
}

/** A fingerprint of what the user sees, to tell "changed" from "same again". */
export function courseFingerprint(course: CourseDetail): string {
  return JSON.stringify([
    course.status,
    course.error ?? null,
    course.attempts ?? 0,
    course.lessonsGenerated,
    course.partialOutline?.modules.map((m) => m.lessons.length) ?? null,
    course.modules.map((m) => m.lessons.map((l) => `${l.status}:${l.priority ?? ""}:${l.attempts ?? 0}:${l.error ? 1 : 0}`)),
  ]);
}
