import { POLL, courseFingerprint, coursePollDelay, isCourseSettled, lessonPollDelay, listPollDelay, nextPollDelay, questionsPollDelay } from "./polling";
import type { CourseDetail, LessonSummary, QuestionView } from "./api/types";

function lesson(id: string, status: LessonSummary["status"], priority: LessonSummary["priority"] = null): LessonSummary {
  return { id, title: id, summary: "", order: 0, status, priority, error: null, attempts: 0 };
}

function course(status: CourseDetail["status"], lessons: LessonSummary[]): CourseDetail {
  return {
    id: "c", prompt: "p", level: null, size: null, status, title: "t", description: null, objectives: [],
    lessonCount: lessons.length, lessonsGenerated: lessons.filter((l) => l.status === "GENERATED").length,
    usage: { promptTokens: 0, completionTokens: 0 }, error: null, attempts: 0, createdAt: "", updatedAt: "", version: 1, sourceIds: [],
    modules: [{ id: "m01", title: "m", lessons }],
  };
}

describe("polling", () => {
  it("backs off while nothing changes, up to a ceiling", () => {
    const delays = [0, 1, 2, 3, 10, 50].map((n) => nextPollDelay(false, n));
    expect(delays[0]).toBe(POLL.firstMs);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] as number);
    expect(delays.at(-1)).toBe(POLL.maxMs);
  });

  it("stops once settled", () => {
    expect(nextPollDelay(true, 0)).toBe(false);
    expect(nextPollDelay(true, 0, 2)).toBe(false);
  });

  it("never polls sooner than Retry-After", () => {
    expect(nextPollDelay(false, 0, 5)).toBe(5000);
    expect(nextPollDelay(false, 10, 1)).toBe(POLL.maxMs);
  });

  it("settles when nothing is queued or generating, even with lessons never opened", () => {
    expect(isCourseSettled(course("PENDING", []))).toBe(false);
    expect(isCourseSettled(course("READY", [lesson("a", "GENERATED"), lesson("b", "PENDING", "low")]))).toBe(false);
    expect(isCourseSettled(course("READY", [lesson("a", "GENERATING")]))).toBe(false);
    expect(isCourseSettled(course("READY", [lesson("a", "GENERATED"), lesson("b", "FAILED"), lesson("c", "PENDING")]))).toBe(true);
    expect(isCourseSettled(course("REFUSED", []))).toBe(true);
  });

  it("sees a change when a lesson moves, not when nothing does", () => {
    const before = course("READY", [lesson("a", "PENDING", "low")]);
    expect(courseFingerprint(before)).toBe(courseFingerprint(course("READY", [lesson("a", "PENDING", "low")])));
    expect(courseFingerprint(before)).not.toBe(courseFingerprint(course("READY", [lesson("a", "GENERATING", "low")])));
  });
});

describe("screens that keep up", () => {
  it("polls every second while the outline is written, then backs off", () => {
    expect(coursePollDelay(course("PENDING", []), 9)).toBe(POLL.outlineMs);
    expect(coursePollDelay(course("GENERATING", []), 9)).toBe(POLL.outlineMs);
    expect(coursePollDelay(course("READY", [lesson("a", "GENERATING")]), 0)).toBe(POLL.firstMs);
    expect(coursePollDelay(course("READY", [lesson("a", "GENERATED")]), 0)).toBe(false);
  });

  it("refreshes My courses while any course is building and stops once all are settled", () => {
    expect(listPollDelay([{ status: "READY" }, { status: "PENDING" }])).toBe(POLL.listMs);
    expect(listPollDelay([{ status: "READY" }, { status: "FAILED" }, { status: "REFUSED" }])).toBe(false);
    expect(listPollDelay([])).toBe(false);
  });
});

describe("polls for text being written", () => {
  const at = (status: number, lessonStatus: LessonSummary["status"], retryAfter: number | null) => ({
    status, data: { status: lessonStatus, retryAfter }, retryAfter,
  });

  it("polls a lesson being written at its Retry-After, a queued one with the backoff, a written one never", () => {
    expect(lessonPollDelay(at(202, "GENERATING", 1))).toBe(1000);
    expect(lessonPollDelay(at(202, "GENERATING", 3))).toBe(3000);
    expect(lessonPollDelay(at(202, "GENERATING", null))).toBe(POLL.writingMs);
    expect(lessonPollDelay(at(202, "PENDING", 1))).toBe(POLL.firstMs);
    expect(lessonPollDelay(at(202, "PENDING", 5))).toBe(5000);
    expect(lessonPollDelay(at(200, "GENERATED", null))).toBe(false);
    expect(lessonPollDelay(at(200, "FAILED", null))).toBe(false);
    // the exact wait when the API gives it: half a second while the first block is written
    const exact = (ms: number | null, lessonStatus: LessonSummary["status"] = "GENERATING") => ({
      status: 202, data: { status: lessonStatus, retryAfter: 1, retryAfterMs: ms }, retryAfter: 1,
    });
    expect(lessonPollDelay(exact(500))).toBe(500);
    expect(lessonPollDelay(exact(1000, "PENDING"))).toBe(1000);
    expect(lessonPollDelay(exact(20))).toBe(POLL.soonestMs); // never a spin
    expect(lessonPollDelay(exact(null))).toBe(1000);
    expect(lessonPollDelay({ ...exact(500), status: 200 })).toBe(false);
    // the body's retryAfter when a proxy dropped the header
    expect(lessonPollDelay({ status: 202, data: { status: "GENERATING", retryAfter: 2 }, retryAfter: null })).toBe(2000);
  });

  it("polls the question thread only while something is pending, never sooner than Retry-After", () => {
    const q = (status: QuestionView["status"]) => ({ status }) as QuestionView;
    const thread = (items: QuestionView[], retryAfter: number | null) => ({ status: 200, data: { items }, retryAfter });
    expect(questionsPollDelay(thread([], null))).toBe(false);
    expect(questionsPollDelay(thread([q("ANSWERED"), q("FAILED")], null))).toBe(false);
    expect(questionsPollDelay(thread([q("ANSWERED"), q("ANSWERING")], 1))).toBe(1000);
    expect(questionsPollDelay(thread([q("QUEUED")], 1))).toBe(POLL.firstMs);
    expect(questionsPollDelay(thread([q("ANSWERING")], 4))).toBe(4000);
  });

  it("polls a course whose outline is written every second, or at its Retry-After", () => {
    expect(coursePollDelay({ ...course("GENERATING", []), retryAfter: 3 }, 0)).toBe(3000);
    expect(coursePollDelay({ ...course("GENERATING", []), retryAfter: 1 }, 0)).toBe(POLL.outlineMs);
  });

  it("sees a change when a module of the outline is written", () => {
    const partial = (n: number) => ({ title: null, description: null, objectives: [], restarts: 0, writes: 0, modules: Array.from({ length: n }, () => ({ title: "m", lessons: [] })) });
    const a = { ...course("GENERATING", []), partialOutline: partial(1) };
    const b = { ...course("GENERATING", []), partialOutline: partial(2) };
    expect(courseFingerprint(a)).not.toBe(courseFingerprint(b));
  });
});
