import { renderHook, screen, waitFor, within } from "@testing-library/react";
import { CourseLanguage, useT, type Translator } from "./i18n";
import userEvent from "@testing-library/user-event";
import { CourseView } from "./pages/CourseView";
import { Courses } from "./pages/Courses";
import { LessonView } from "./pages/LessonView";
import { failedSentence, retryingSentence, untilRetry } from "./failures";
import { POLL, coursePollDelay, isCourseSettled, lessonPollDelay, listPollDelay } from "./polling";
import { fetched, refetch, renderScreen } from "./test-harness";
import type { CourseDetail, CourseSummary, Lesson, LessonSummary } from "./api/types";

// The API's words (flowgen.failures): a reason for people; the final one says how often it was tried.
const REASON = "The writing service could not write this.";
const FINAL = "The writing service could not write this. Tried 3 times; you can try again.";
const NOW = Date.parse("2026-01-01T10:00:00Z");
const inSeconds = (s: number, from = Date.now()) => new Date(from + s * 1000).toISOString();

function lesson(over: Partial<Lesson>): Lesson {
  return {
    id: "m01-l02", courseId: "c".repeat(32), moduleId: "m01", title: "Borrowing", summary: "What a borrow is", order: 1,
    status: "PENDING", priority: "high", error: null, attempts: 0, maxAttempts: 3, retryAt: null, content: null, partial: null,
    progress: { blocksWritten: 0, blocksExpected: null, restarts: 0 }, requestedAt: null, generatedAt: null,
    previousLessonId: null, nextLessonId: null, retryAfter: 1, version: 1, versions: [], usage: { promptTokens: 0, completionTokens: 0 },
    ...over,
  };
}

function row(id: string, over: Partial<LessonSummary> = {}): LessonSummary {
  return { id, title: `Lesson ${id}`, summary: "s", order: 0, status: "PENDING", priority: null, error: null, attempts: 0, ...over };
}

function course(over: Partial<CourseDetail>): CourseDetail {
  return {
    id: "c".repeat(32), prompt: "Rust ownership", level: null, size: null, status: "READY", title: "Rust ownership", description: null,
    objectives: [], lessonCount: 0, lessonsGenerated: 0, usage: { promptTokens: 0, completionTokens: 0 }, error: null, attempts: 1,
    createdAt: "", updatedAt: "", version: 1, modules: [], partialOutline: null, sourceIds: [], ...over,
  };
}

/** The translator a screen of a course in `language` uses (its catalogue loaded). */
async function translatorIn(language: string): Promise<Translator> {
  const { result } = renderHook(() => useT(), { wrapper: ({ children }) => <CourseLanguage language={language}>{children}</CourseLanguage> });
  if (language !== "English") await waitFor(() => expect(result.current.t("common.retry")).not.toBe("Retry"));
  return result.current;
}
const EN = renderHook(() => useT()).result.current;

describe("what a failed attempt says", () => {
  it("says it in the course's language: the retry line of a German course", async () => {
    const de = await translatorIn("German");
    // the reason is the API's own sentence (English from an English API); the rest is the course's
    const waiting = { status: "PENDING", error: REASON, attempts: 1, maxAttempts: 3, retryAt: inSeconds(12, NOW) };
    expect(retryingSentence("lesson", waiting, NOW, de)).toBe(
      "Das Schreiben dieser Lektion ist fehlgeschlagen: The writing service could not write this. Neuer Versuch in 12 s (Versuch 2 von 3).",
    );
    expect(retryingSentence("outline", { ...waiting, maxAttempts: undefined }, NOW + 13_000, de)).toBe(
      "Das Schreiben der Gliederung ist fehlgeschlagen: The writing service could not write this. Neuer Versuch läuft (Versuch 2).",
    );
    expect(failedSentence("outline", { status: "FAILED", error: null }, de)).toBe(
      "Das Schreiben der Gliederung ist fehlgeschlagen: etwas ist schiefgelaufen.",
    );
    expect(failedSentence("lesson", { status: "FAILED", error: FINAL }, de)).toBe(
      "Das Schreiben dieser Lektion ist fehlgeschlagen: The writing service could not write this. Tried 3 times; you can try again.",
    );
  });

  it("says what failed in the API's words, when it is tried again and which attempt that is", () => {
    const waiting = { status: "PENDING", error: REASON, attempts: 1, maxAttempts: 3, retryAt: inSeconds(12, NOW) };
    expect(retryingSentence("lesson", waiting, NOW, EN)).toBe(
      "Writing this lesson failed: The writing service could not write this. Trying again in 12 s (attempt 2 of 3).",
    );
    expect(retryingSentence("lesson", waiting, NOW + 11_500, EN)).toMatch(/Trying again in 1 s \(attempt 2 of 3\)\.$/);
    expect(retryingSentence("lesson", waiting, NOW + 12_001, EN)).toMatch(/Trying again now \(attempt 2 of 3\)\.$/);
    // the next attempt running: `attempts` counts it
    expect(retryingSentence("lesson", { ...waiting, status: "GENERATING", attempts: 2, retryAt: null }, NOW, EN)).toMatch(
      /Trying again now \(attempt 2 of 3\)\.$/,
    );
    // an outline's view does not give the cap: the count alone
    expect(retryingSentence("outline", { status: "PENDING", error: REASON, attempts: 1, retryAt: inSeconds(5, NOW) }, NOW, EN)).toBe(
      "Writing the outline failed: The writing service could not write this. Trying again in 5 s (attempt 2).",
    );
    expect(retryingSentence("lesson", { status: "PENDING", error: null, attempts: 0 }, NOW, EN)).toBeNull();
    expect(retryingSentence("lesson", { status: "FAILED", error: FINAL, attempts: 3 }, NOW, EN)).toBeNull();
    expect(failedSentence("lesson", { status: "FAILED", error: FINAL }, EN)).toBe(
      "Writing this lesson failed: The writing service could not write this. Tried 3 times; you can try again.",
    );
    expect(untilRetry(waiting, NOW)).toBe(12_000);
    expect(untilRetry({ ...waiting, error: null }, NOW)).toBeNull();
  });
});

describe("polling while a failed attempt waits for its retry", () => {
  const waiting = (s: number) => ({ status: "PENDING" as const, error: REASON, retryAt: inSeconds(s, NOW), retryAfter: 1, retryAfterMs: null });

  it("looks again just after the retry time, not every second, and never later than 30 s", () => {
    expect(lessonPollDelay({ status: 202, data: waiting(12), retryAfter: 1 }, NOW)).toBe(12_500);
    expect(lessonPollDelay({ status: 202, data: waiting(600), retryAfter: 1 }, NOW)).toBe(POLL.retryCapMs);
    expect(lessonPollDelay({ status: 202, data: waiting(0.2), retryAfter: 1 }, NOW)).toBe(POLL.firstMs); // the usual floor
    expect(lessonPollDelay({ status: 202, data: waiting(12), retryAfter: 20 }, NOW)).toBe(20_000); // never sooner than Retry-After
    expect(lessonPollDelay({ status: 202, data: waiting(-5), retryAfter: 1 }, NOW)).toBe(POLL.firstMs); // its time has come
  });

  it("polls an outline waiting for its retry at the retry time, and My courses likewise", () => {
    const outline = course({ status: "PENDING", error: REASON, retryAt: inSeconds(5, NOW), retryAfter: 1 });
    expect(coursePollDelay(outline, 0, NOW)).toBe(5_500);
    expect(coursePollDelay(course({ status: "PENDING", retryAfter: 1 }), 0, NOW)).toBe(POLL.outlineMs);
    expect(listPollDelay([outline], NOW)).toBe(5_500);
    expect(listPollDelay([outline, { status: "GENERATING" }], NOW)).toBe(POLL.listMs);
    expect(listPollDelay([{ status: "FAILED", error: FINAL }], NOW)).toBe(false);
  });

  it("keeps a course polling while a lesson waits for its retry, just after its retry time", () => {
    const lessons = [row("a", { status: "GENERATED" }), row("b", { error: REASON, attempts: 1, retryAt: inSeconds(8, NOW) })];
    const waitingCourse = course({ modules: [{ id: "m01", title: "m", lessons }] });
    expect(isCourseSettled(waitingCourse)).toBe(false);
    expect(coursePollDelay(waitingCourse, 0, NOW)).toBe(8_500);
    const failed = course({ modules: [{ id: "m01", title: "m", lessons: [row("b", { status: "FAILED", error: FINAL })] }] });
    expect(coursePollDelay(failed, 0, NOW)).toBe(false);
  });
});

function lessonScreen(first: Lesson, status = 202) {
  let current = fetched(first, status, status === 202 ? 1 : null);
  const api = {
    openLesson: vi.fn(async () => current),
    retryLesson: vi.fn(async () => fetched(lesson({ attempts: 0 }), 202, 1)),
    putProgress: vi.fn(async () => fetched({ lessonId: first.id })),
    getCourseProgress: vi.fn(async () => fetched({ courseId: "c", lessonCount: 1, completed: 0, percent: 0, finished: false, nextLessonId: null, lessons: [] })),
  };
  const view = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: "/courses/c/lessons/m01-l02", api });
  const next = async (answer: Lesson, answerStatus = 202) => {
    current = fetched(answer, answerStatus, answerStatus === 202 ? 1 : null);
    await refetch(view.client, "lesson");
  };
  return { ...view, api, next };
}

describe("the lesson screen when writing it fails", () => {
  it("says at once that it failed and is retried, with the attempt count, not that it is queued", async () => {
    const { container } = lessonScreen(lesson({ error: REASON, attempts: 1, retryAt: inSeconds(12) }));
    expect(await screen.findByText(/^Writing this lesson failed: The writing service could not write this\. Trying again in 1[12] s \(attempt 2 of 3\)\.$/, { selector: "p[aria-hidden]" })).toBeVisible();
    // a screen reader hears it once, from a status that does not tick
    expect(screen.getByRole("status")).toHaveTextContent(/^Writing this lesson failed: .* \(attempt 2 of 3\)\.$/);
    expect(screen.queryByText(/queued/)).toBeNull();
    expect(screen.queryByText(/started again/)).toBeNull();
    expect(container.querySelector("article")).toBeNull();
  });

  it("never counts a failed attempt as the writing starting again", async () => {
    const { next } = lessonScreen(lesson({ status: "GENERATING", attempts: 1 }));
    await screen.findByText(/Writing this lesson for you/);
    // attempt 1 failed (the API counts it as a restart), then attempt 2 runs
    await next(lesson({ error: REASON, attempts: 1, retryAt: inSeconds(5), progress: { blocksWritten: 0, blocksExpected: null, restarts: 1 } }));
    expect(screen.getByRole("status")).toHaveTextContent(/Writing this lesson failed: .* \(attempt 2 of 3\)\./);
    await next(lesson({ status: "GENERATING", error: REASON, attempts: 2, progress: { blocksWritten: 0, blocksExpected: null, restarts: 1 } }));
    const status = screen.getByRole("status");
    expect(status).toHaveTextContent("Writing this lesson failed: The writing service could not write this. Trying again now (attempt 2 of 3).");
    expect(status).toHaveTextContent("Writing this lesson for you…");
    expect(screen.queryByText(/started again/)).toBeNull();
  });

  it("shows the final reason and a Retry that writes it again, focus on what follows", async () => {
    const user = userEvent.setup();
    const { api, next } = lessonScreen(lesson({ status: "FAILED", error: FINAL, attempts: 3, retryAfter: null }), 200);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Writing this lesson failed: The writing service could not write this. Tried 3 times; you can try again.");
    await user.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(api.retryLesson).toHaveBeenCalledWith("c", "m01-l02");
    await next(lesson({ attempts: 0 }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("This lesson is queued"));
    expect(screen.getByRole("status")).toHaveFocus();
  });
});

describe("the course screen when writing fails", () => {
  it("says the outline failed and is retried, not 'Writing the outline…', then offers Retry once final", async () => {
    const user = userEvent.setup();
    let current = fetched(course({ status: "PENDING", title: null, error: REASON, attempts: 1, retryAt: inSeconds(5), retryAfter: 1 }));
    const api = {
      getCourse: vi.fn(async () => current),
      retryCourse: vi.fn(async () => fetched(course({ status: "PENDING", attempts: 0 }))),
      getCourseProgress: vi.fn(),
    };
    const { client } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: "/courses/c", api });
    expect(await screen.findByRole("status")).toHaveTextContent(
      /^Writing the outline failed: The writing service could not write this\. Trying again in [45] s \(attempt 2\)\.$/,
    );
    expect(screen.queryByText(/Writing the outline…/)).toBeNull();

    current = fetched(course({ status: "FAILED", title: null, error: FINAL, attempts: 3 }));
    await refetch(client, "course");
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Writing the outline failed: The writing service could not write this. Tried 3 times; you can try again.");
    await user.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(api.retryCourse).toHaveBeenCalledWith("c");
  });

  it("marks a lesson being retried, and a failed one with its reason and a Retry", async () => {
    const user = userEvent.setup();
    const lessons = [
      row("m01-l01", { status: "GENERATED" }),
      row("m01-l02", { priority: "high", error: REASON, attempts: 1, retryAt: inSeconds(9) }),
      row("m01-l03", { status: "FAILED", error: FINAL, attempts: 3 }),
    ];
    const api = {
      getCourse: vi.fn(async () => fetched(course({ lessonCount: 3, modules: [{ id: "m01", title: "Moves", lessons }] }))),
      getCourseProgress: vi.fn(async () => fetched({ courseId: "c", lessonCount: 3, completed: 0, percent: 0, finished: false, nextLessonId: null, lessons: [] })),
      retryLesson: vi.fn(async () => fetched(lesson({}), 202)),
    };
    const { container } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: "/courses/c", api });
    await screen.findByRole("link", { name: "Lesson m01-l02" });
    const rows = container.querySelectorAll(".lesson-row");
    expect(within(rows[1] as HTMLElement).getByText("being written")).toHaveClass("badge"); // the learner's words (issue 26)
    expect(rows[1]).toHaveTextContent(/Writing this lesson failed: The writing service could not write this\. Trying again in [89] s \(attempt 2\)\./);
    expect(rows[2]).toHaveTextContent("Writing this lesson failed: The writing service could not write this. Tried 3 times; you can try again.");
    await user.click(screen.getByRole("button", { name: "Retry “Lesson m01-l03”" }));
    expect(api.retryLesson).toHaveBeenCalledWith("c", "m01-l03");
  });
});

describe("My courses when writing an outline fails", () => {
  function summary(over: Partial<CourseSummary>): CourseSummary {
    const { modules: _m, partialOutline: _p, retryAfter: _r, ...view } = course(over);
    return view;
  }

  it("says retrying or failed with the reason and a Retry, never 'outline being written…'", async () => {
    const user = userEvent.setup();
    const items = [
      summary({ id: "a".repeat(32), prompt: "Monads", title: null, status: "PENDING", error: REASON, attempts: 1, retryAt: inSeconds(7) }),
      summary({ id: "b".repeat(32), prompt: "Lenses", title: null, status: "FAILED", error: FINAL, attempts: 3 }),
      summary({ id: "d".repeat(32), prompt: "Functors", title: null, status: "PENDING", attempts: 0 }),
    ];
    const api = {
      listCourses: vi.fn(async () => fetched({ items, nextCursor: null })),
      getProgressOverview: vi.fn(async () => fetched({ courses: [] })),
      retryCourse: vi.fn(async () => fetched(items[1])),
    };
    const { container } = renderScreen(<Courses />, { path: "/", at: "/", api });
    await screen.findByRole("link", { name: "Lenses" });
    const [retrying, failed, building] = [...container.querySelectorAll(".course-row")] as HTMLElement[];
    expect(within(retrying).getByText("retrying")).toHaveClass("badge");
    expect(retrying).toHaveTextContent(/Writing the outline failed: The writing service could not write this\. Trying again in [67] s \(attempt 2\)\./);
    expect(retrying).not.toHaveTextContent("outline being written…");
    expect(within(failed).getByText("failed")).toHaveClass("badge");
    expect(failed).toHaveTextContent("Writing the outline failed: The writing service could not write this. Tried 3 times; you can try again.");
    expect(failed).not.toHaveTextContent("outline being written…");
    expect(building).toHaveTextContent("outline being written…");
    await user.click(within(failed).getByRole("button", { name: "Retry “Lenses”" }));
    expect(api.retryCourse).toHaveBeenCalledWith("b".repeat(32));
  });
});
