import { POLL, courseFingerprint, coursePollDelay, isCourseSettled, listPollDelay, nextPollDelay } from "./polling";
import type { CourseDetail, LessonSummary } from "./types";

function lesson(id: string, status: LessonSummary["status"], priority: LessonSummary["priority"] = null): LessonSummary {
  return { id, title: id, summary: "", order: 0, status, priority, error: null };
}

function course(status: CourseDetail["status"], lessons: LessonSummary[]): CourseDetail {
  return {
    id: "c", prompt: "p", level: null, size: null, status, title: "t", description: null, objectives: [],
    lessonCount: lessons.length, lessonsGenerated: lessons.filter((l) => l.status === "GENERATED").length,
    usage: { promptTokens: 0, completionTokens: 0 }, error: null, createdAt: "", updatedAt: "",
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
