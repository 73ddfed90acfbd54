// Place and pace, the next step after a quiz, resuming, and status words (issue 26).
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { Blocks, type QuizProgress } from "./components/Blocks";
import { lessonState } from "./components/Status";
import { CourseView } from "./pages/CourseView";
import { LessonView } from "./pages/LessonView";
import { ASSUMED_MINUTES, duration, minutesLeft, placeOf } from "./pace";
import { fetched, renderScreen } from "./test-harness";
import type { Block, CourseDetail, CourseProgress, Lesson, LessonSummary, QuizResult } from "./api/types";

const ID = "c".repeat(32);

function row(id: string, over: Partial<LessonSummary> = {}): LessonSummary {
  return { id, title: `Lesson ${id}`, summary: "s", order: 0, status: "PENDING", priority: null, error: null, attempts: 0, ...over };
}

function course(modules: CourseDetail["modules"]): CourseDetail {
  const lessons = modules.flatMap((m) => m.lessons);
  return {
    id: ID, prompt: "Rust ownership", level: null, size: null, status: "READY", title: "Rust ownership", description: null,
    objectives: [], lessonCount: lessons.length, lessonsGenerated: 0, usage: { promptTokens: 0, completionTokens: 0 }, error: null,
    attempts: 1, createdAt: "", updatedAt: "", version: 1, modules, partialOutline: null, sourceIds: [],
  };
}

const OUTLINE = course([
  { id: "m01", title: "Moves", lessons: [row("m01-l01", { status: "GENERATED", readingMinutes: 4 }), row("m01-l02", { status: "GENERATED", readingMinutes: 8 })] },
  { id: "m02", title: "Borrowing", lessons: [row("m02-l01"), row("m02-l02", { priority: "high" })] },
]);

function progressOf(over: Partial<CourseProgress> = {}): CourseProgress {
  return { courseId: ID, lessonCount: 4, completed: 0, percent: 0, finished: false, nextLessonId: "m01-l01", lessons: [], ...over };
}

describe("place and pace", () => {
  it("says which lesson of how many, in which module", () => {
    expect(placeOf(OUTLINE, "m02-l01")).toEqual({ number: 3, total: 4, moduleNumber: 2, moduleCount: 2, moduleTitle: "Borrowing" });
    expect(placeOf(OUTLINE, "m09-l09")).toBeNull();
  });

  it("adds up what is not completed, a lesson not written yet at the mean of the written ones", () => {
    expect(minutesLeft(OUTLINE, undefined)).toBe(4 + 8 + 6 + 6);
    const done = progressOf({ lessons: [{ lessonId: "m01-l02", completedAt: "2026-01-01T00:00:00Z" }] });
    expect(minutesLeft(OUTLINE, done)).toBe(4 + 6 + 6);
    const unwritten = course([{ id: "m01", title: "m", lessons: [row("a"), row("b")] }]);
    expect(minutesLeft(unwritten, undefined)).toBe(2 * ASSUMED_MINUTES);
    expect([duration(5), duration(60), duration(95)]).toEqual(["5 min", "1 h", "1 h 35 min"]);
  });

  it("names a lesson's state in the learner's words", () => {
    const words = [
      lessonState(row("a")),
      lessonState(row("a", { priority: "low" })),
      lessonState(row("a", { status: "GENERATING" })),
      lessonState(row("a", { error: "failed once", attempts: 1 })),
      lessonState(row("a", { status: "GENERATED" })),
      lessonState(row("a", { status: "GENERATED" }), true),
      lessonState(row("a", { status: "FAILED" })),
    ].map((s) => s.label);
    expect(words).toEqual(["not written yet", "being written", "being written", "being written", "ready to read", "read", "could not be written"]);
  });

  it("the course page: time left, reading time per lesson, Continue to the lesson in progress", async () => {
    const api = {
      getCourse: vi.fn(async () => fetched(OUTLINE)),
      getCourseProgress: vi.fn(async () =>
        fetched(
          progressOf({
            completed: 1,
            percent: 25,
            nextLessonId: "m01-l02",
            resumeLessonId: "m02-l01",
            lessons: [
              { lessonId: "m01-l01", completedAt: "2026-01-01T00:00:00Z" },
              { lessonId: "m02-l01", position: { block: 2, percent: 10 }, positionAt: "2026-01-02T00:00:00Z" },
            ],
          }),
        ),
      ),
    };
    const { container } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: `/courses/${ID}`, api });
    const go = await screen.findByRole("link", { name: "Continue" }, { timeout: 4000 });
    expect(go).toHaveAttribute("href", `/courses/${ID}/lessons/m02-l01`); // not the first unfinished one
    expect(screen.getByText("About 20 min of reading left")).toBeInTheDocument(); // 8 + 6 + 6
    const rows = container.querySelectorAll(".lesson-row");
    expect(rows[0].querySelector(".badge")).toHaveTextContent(/^read$/);
    expect(rows[1]).toHaveTextContent("8 min");
    expect(rows[2].querySelector(".badge")).toHaveTextContent("not written yet");
    expect(rows[3].querySelector(".badge")).toHaveTextContent("being written");
  });
});

const QUIZ: Block = { type: "quiz", questions: [{ question: "One owner?", options: ["Yes", "No"] }] };

function graded(answers: (number | null)[]): QuizResult {
  const passed = answers[0] === 0;
  return {
    score: passed ? 1 : 0, total: 1, passed, answers, correct: [passed], feedback: [passed ? null : "Two owners would free it twice."],
    solution: passed ? [{ answerIndex: 0, explanation: "Exactly one." }] : null, tries: [],
    lessonVersion: "2026-11-28T01:00:00Z", takenAt: new Date().toISOString(),
  };
}

describe("the next step right after the quiz", () => {
  it("is offered with the result once passed, not after a failed try (that offers Try again)", async () => {
    const user = userEvent.setup();
    const quiz: QuizProgress = {
      result: null,
      version: "2026-11-28T01:00:00Z",
      submit: async (answers) => ({ result: graded(answers), saved: { lessonId: "m01-l01" } }),
      next: { href: "/courses/c/lessons/m01-l02", label: "On to the next lesson" },
    };
    render(
      <MemoryRouter>
        <Blocks blocks={[QUIZ]} quiz={quiz} />
      </MemoryRouter>,
    );
    await user.click(screen.getByRole("radio", { name: "No" }));
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    expect(await screen.findByText("Not quite: Two owners would free it twice.")).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "On to the next lesson" })).toBeNull();
    await user.click(screen.getByRole("button", { name: "Try again" }));
    await user.click(screen.getByRole("radio", { name: /Yes/ }));
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    const next = await screen.findByRole("link", { name: "On to the next lesson" });
    expect(next).toHaveAttribute("href", "/courses/c/lessons/m01-l02");
    // right after the result: the quiz's own last element, before anything else on the page
    expect(next.closest(".quiz-result")).toBe(screen.getByRole("status").closest(".quiz-result"));
  });
});

function written(over: Partial<Lesson> = {}): Lesson {
  return {
    id: "m02-l01", courseId: ID, moduleId: "m02", title: "Borrowing", summary: "What a borrow is", order: 2, status: "GENERATED",
    priority: "high", error: null, attempts: 1, maxAttempts: 3, retryAt: null, partial: null, progress: null, requestedAt: null,
    generatedAt: "2026-11-28T01:00:00Z", previousLessonId: "m01-l02", nextLessonId: "m02-l02", retryAfter: null, version: 1, versions: [],
    usage: { promptTokens: 0, completionTokens: 0 }, readingMinutes: 7,
    content: {
      generator: "offline",
      blocks: [
        { type: "markdown", markdown: "First" },
        { type: "markdown", markdown: "Second" },
        { type: "markdown", markdown: "Third" },
      ],
    },
    ...over,
  };
}

function lessonScreen(mine: CourseProgress["lessons"]) {
  const api = {
    openLesson: vi.fn(async () => fetched(written())),
    getCourse: vi.fn(async () => fetched(OUTLINE)),
    putProgress: vi.fn(async (_c: string, lessonId: string) => fetched({ lessonId })),
    getCourseProgress: vi.fn(async () => fetched(progressOf({ lessons: mine }))),
  };
  const view = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: `/courses/${ID}/lessons/m02-l01`, api });
  return { ...view, api };
}

describe("a lesson's place and the reading position", () => {
  beforeEach(() => {
    window.scrollTo = vi.fn() as unknown as typeof window.scrollTo;
  });

  it("says lesson 3 of 4, its module and its reading time", async () => {
    lessonScreen([]);
    const place = await screen.findByText("Lesson 3 of 4");
    expect(place.closest(".place")).toHaveTextContent("Lesson 3 of 4Module 2 of 2: Borrowing7 min read");
  });

  it("goes back to the saved position, saying so, and saves nothing over it on arrival", async () => {
    const { api } = lessonScreen([{ lessonId: "m02-l01", position: { block: 2, percent: 50 }, positionAt: "2026-01-02T00:00:00Z" }]);
    expect(await screen.findByText("Picked up where you left off.", { exact: false })).toHaveAttribute("role", "status");
    expect(window.scrollTo).toHaveBeenCalled();
    expect(api.putProgress).not.toHaveBeenCalledWith(ID, "m02-l01", expect.objectContaining({ position: expect.anything() }));
  });

  it("on a first visit, records the start: the lesson is now the one in progress", async () => {
    const { api } = lessonScreen([]);
    await waitFor(() => expect(api.putProgress).toHaveBeenCalledWith(ID, "m02-l01", { position: { block: 0, percent: 0 } }));
    expect(screen.queryByText("Picked up where you left off.", { exact: false })).toBeNull();
    expect(within(document.body).getByRole("heading", { level: 1 })).toHaveTextContent("Borrowing");
  });
});

describe("rewriting and switching versions", () => {
  beforeEach(() => {
    window.scrollTo = vi.fn() as unknown as typeof window.scrollTo;
  });

  const versions = [
    { number: 1, generatedAt: "2026-11-28T01:00:00Z", instruction: null, current: false },
    { number: 2, generatedAt: null, instruction: "Simpler", current: true },
  ];

  it("keeps the lesson read so far on screen while its new version is written, then replaces it in place", async () => {
    let current = fetched(written());
    const api = {
      openLesson: vi.fn(async () => current),
      getCourse: vi.fn(async () => fetched(OUTLINE)),
      putProgress: vi.fn(async (_c: string, lessonId: string) => fetched({ lessonId })),
      getCourseProgress: vi.fn(async () => fetched(progressOf())),
      regenerateLesson: vi.fn(async () => fetched(written({ status: "PENDING", content: null, version: 2, versions }), 202, 1)),
    };
    const user = userEvent.setup();
    const { client, container } = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: `/courses/${ID}/lessons/m02-l01`, api });
    await screen.findByText("Second");
    current = fetched(written({ status: "PENDING", content: null, version: 2, versions }), 202, 1);
    await user.type(screen.getByLabelText("Rewrite this lesson: what should change?"), "Simpler");
    await user.click(screen.getByRole("button", { name: "Rewrite the lesson" }));
    await refetchLesson(client);
    expect(await screen.findByText(/Version 2 is being written with your instruction\. You are reading version 1/)).toBeInTheDocument();
    expect(screen.getByText("Second")).toBeInTheDocument(); // the old version, not an empty page
    expect(container.querySelector("article.lesson-body:not(.draft)")).not.toBeNull();

    const done = [{ ...versions[0] }, { ...versions[1], generatedAt: "2026-11-29T01:00:00Z" }];
    current = fetched(written({ version: 2, versions: done, content: { generator: "offline", blocks: [{ type: "markdown", markdown: "Simpler now" }] } }));
    await refetchLesson(client);
    expect(await screen.findByText("Simpler now")).toBeInTheDocument();
    expect(screen.queryByText("Second")).toBeNull();
  });

  it("switches near the top, says which version is shown and moves focus there", async () => {
    const both = [
      { number: 1, generatedAt: "2026-11-28T01:00:00Z", instruction: null, current: false },
      { number: 2, generatedAt: "2026-11-29T01:00:00Z", instruction: "Simpler", current: true },
    ];
    const api = {
      openLesson: vi.fn(async () => fetched(written({ version: 2, versions: both }))),
      getCourse: vi.fn(async () => fetched(OUTLINE)),
      putProgress: vi.fn(async (_c: string, lessonId: string) => fetched({ lessonId })),
      getCourseProgress: vi.fn(async () => fetched(progressOf())),
      selectLessonVersion: vi.fn(async () => fetched(written({ version: 1, versions: both.map((v) => ({ ...v, current: v.number === 1 })) }))),
    };
    const user = userEvent.setup();
    renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: `/courses/${ID}/lessons/m02-l01`, api });
    const region = await screen.findByRole("region", { name: "Versions of this lesson" });
    const article = document.querySelector("article.lesson-body")!;
    expect(region.compareDocumentPosition(article) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy(); // above the lesson
    await user.selectOptions(within(region).getByLabelText("Version"), "1");
    await user.click(within(region).getByRole("button", { name: "Show this version" }));
    const said = await within(region).findByRole("status");
    expect(said).toHaveTextContent("Now showing version 1 (the first version). Your progress is kept.");
    await waitFor(() => expect(within(region).getByRole("status")).toHaveFocus()); // not the page's body
  });

  it("a lesson not found offers the way back to its course", async () => {
    const { ApiError } = await import("./api/client");
    const api = {
      openLesson: vi.fn(async () => {
        throw new ApiError(404, "lesson_not_found", "lesson not found");
      }),
      getCourse: vi.fn(async () => fetched(OUTLINE)),
      getCourseProgress: vi.fn(async () => fetched(progressOf())),
    };
    renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: `/courses/${ID}/lessons/m09-l09`, api });
    expect(await screen.findByRole("heading", { name: "Lesson not found" })).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "Back to the course" })).toHaveAttribute("href", `/courses/${ID}`);
    expect(screen.getByRole("link", { name: "Back to my courses" })).toBeInTheDocument();
  });
});

async function refetchLesson(client: import("@tanstack/react-query").QueryClient) {
  const { refetch } = await import("./test-harness");
  await refetch(client, "lesson");
}
