import { QueryClient, type QueryKey } from "@tanstack/react-query";
import { keys } from "./keys";

const A = "a".repeat(32);
const B = "b".repeat(32);

/** Every kind of query the app makes, for two courses. */
const ALL: Record<string, QueryKey> = {
  courses: keys.courses(),
  courseA: keys.course(A),
  courseB: keys.course(B),
  lessonA1: keys.lesson(A, "m01-l01"),
  lessonA2: keys.lesson(A, "m01-l02"),
  lessonB1: keys.lesson(B, "m01-l01"),
  questionsA1: keys.questions(A, "m01-l01"),
  versionA1v1: keys.lessonVersion(A, "m01-l01", 1),
  versionA1v2: keys.lessonVersion(A, "m01-l01", 2),
  exportA: keys.export(A),
  overview: keys.progressOverview(),
  progressA: keys.courseProgress(A),
  progressB: keys.courseProgress(B),
};

/** The queries that invalidating `key` marks stale (what the app refreshes when it does). */
function invalidatedBy(key: QueryKey): string[] {
  const client = new QueryClient();
  for (const each of Object.values(ALL)) client.setQueryData(each, {});
  void client.invalidateQueries({ queryKey: key });
  return Object.entries(ALL)
    .filter(([, each]) => client.getQueryState(each)?.isInvalidated)
    .map(([name]) => name);
}

describe("query keys", () => {
  it("are distinct for every query", () => {
    const serialised = Object.values(ALL).map((key) => JSON.stringify(key));
    expect(new Set(serialised).size).toBe(serialised.length);
  });

  it("refresh all progress at once: the overview and every course's (recording progress)", () => {
    expect(invalidatedBy(keys.progress())).toEqual(["overview", "progressA", "progressB"]);
  });

  it("refresh one course's progress alone (an outline edit)", () => {
    expect(invalidatedBy(keys.courseProgress(A))).toEqual(["progressA"]);
  });

  it("refresh a course without re-opening its lessons, whose GET asks for them to be written", () => {
    expect(invalidatedBy(keys.course(A))).toEqual(["courseA"]);
  });

  it("refresh the list of courses without each course", () => {
    expect(invalidatedBy(keys.courses())).toEqual(["courses"]);
  });

  it("refresh one lesson, and one thread of questions, alone", () => {
    expect(invalidatedBy(keys.lesson(A, "m01-l01"))).toEqual(["lessonA1"]);
    expect(invalidatedBy(keys.questions(A, "m01-l01"))).toEqual(["questionsA1"]);
  });

  it("keep a version read for comparing apart from its lesson: a version never changes (issue 26)", () => {
    expect(invalidatedBy(keys.lessonVersion(A, "m01-l01", 1))).toEqual(["versionA1v1"]);
    expect(invalidatedBy(keys.course(A))).not.toContain("versionA1v1");
  });

  it("keep the families the tests refetch by (test-harness: refetch(client, family))", () => {
    expect([keys.course(A)[0], keys.lesson(A, "x")[0], keys.questions(A, "x")[0]]).toEqual(["course", "lesson", "questions"]);
  });
});
