import { renderHook, screen, waitFor, within } from "@testing-library/react";
import { CourseLanguage, useT, type Translator } from "./i18n";
import { CourseView } from "./pages/CourseView";
import { LessonView } from "./pages/LessonView";
import { fetched, refetch, renderScreen } from "./test-harness";
import type { Block, CourseDetail, Lesson, LessonSummary } from "./api/types";
import { closeOpenMarkdown, draftOf, outlineStatus, restartNotice, restartsSince, writingStatus } from "./writing";

const intro: Block = { type: "markdown", markdown: "## Borrowing\n\nA **reference** borrows a value." };
const code: Block = { type: "code", language: "rust", code: "let r = &s;", caption: "A shared borrow" };
const points: Block = { type: "key_points", points: ["One owner", "Many readers"] };
const quizBlock: Block = {
  type: "quiz",
  questions: [{ question: "Does a borrow copy?", options: ["Yes", "No"] }],
};

/** The translator a screen of a course in `language` uses (its catalogue loaded). */
async function translatorIn(language: string): Promise<Translator> {
  const { result } = renderHook(() => useT(), { wrapper: ({ children }) => <CourseLanguage language={language}>{children}</CourseLanguage> });
  if (language !== "English") await waitFor(() => expect(result.current.t("common.retry")).not.toBe("Retry"));
  return result.current;
}
const EN = renderHook(() => useT()).result.current;

function lesson(over: Partial<Lesson>): Lesson {
  return {
    id: "m01-l02", courseId: "c".repeat(32), moduleId: "m01", title: "Borrowing", summary: "What a borrow is", order: 1,
    status: "GENERATING", priority: "high", error: null, attempts: 1, maxAttempts: 3, content: null, partial: null, progress: null,
    requestedAt: null, generatedAt: null, previousLessonId: null, nextLessonId: null, retryAfter: 1, version: 1, versions: [],
    usage: { promptTokens: 0, completionTokens: 0 },
    ...over,
  };
}

function writing(blocks: Block[], text: string | null, restarts = 0): Lesson {
  return lesson({
    partial: { blocks, writing: text, writes: blocks.length, restarts: 0 },
    progress: { blocksWritten: blocks.length, blocksExpected: null, restarts },
  });
}

describe("the writing status in the course's language", () => {
  it("says the status lines of a German course in German, with German plurals", async () => {
    const de = await translatorIn("German");
    expect(writingStatus(writing([intro], "x"), de)).toBe("Wird noch geschrieben… bisher 1 Block.");
    expect(writingStatus(writing([intro, code, points], null), de)).toBe("Wird noch geschrieben… bisher 3 Blöcke.");
    const known = { ...writing([intro, code], null), progress: { blocksWritten: 2, blocksExpected: 5, restarts: 0 } };
    expect(writingStatus(known, de)).toBe("Wird noch geschrieben… 2 von etwa 5 Blöcken.");
    expect(outlineStatus({ title: "Rust", description: null, objectives: [], modules: [{ title: "Ownership", lessons: [] }, { title: "Borrowing", lessons: [] }], restarts: 0, writes: 0 }, de)).toBe(
      "Die Gliederung wird geschrieben… bisher 2 Module. Was zu sehen ist, ist noch nicht endgültig.",
    );
    expect(restartNotice(3, "lesson", de)).toBe(
      "Das Schreiben hat neu begonnen (3-mal): Die bisher gezeigten Blöcke können sich ändern oder wegfallen.",
    );
  });
});

describe("a lesson being written (pure parts)", () => {
  it("shows the finished blocks and the text being written, never as content", () => {
    expect(draftOf(writing([intro], "So far"))).toEqual({ blocks: [intro], writing: "So far" });
    expect(draftOf(writing([], "  "))).toEqual({ blocks: [], writing: null });
    expect(draftOf(lesson({ status: "PENDING" }))).toEqual({ blocks: [], writing: null });
    expect(draftOf(lesson({ status: "GENERATED", content: { blocks: [intro], generator: "offline" } }))).toBeNull();
  });

  it("closes what the cut text left open, so it reads as it will once finished", () => {
    expect(closeOpenMarkdown("A **refer")).toBe("A **refer**");
    expect(closeOpenMarkdown("A **reference** and `s")).toBe("A **reference** and `s`");
    expect(closeOpenMarkdown("Then **")).toBe("Then");
    expect(closeOpenMarkdown("Code:\n\n```rust\nlet r = &s;\n")).toBe("Code:\n\n```rust\nlet r = &s;\n```");
    expect(closeOpenMarkdown("```rust\nlet a = 1;\n```\n\nNow **b")).toBe("```rust\nlet a = 1;\n```\n\nNow **b**");
    expect(closeOpenMarkdown("Plain text.")).toBe("Plain text.");
  });

  it("says how far the writing has got, once per block", () => {
    expect(writingStatus(lesson({ status: "PENDING" }), EN)).toMatch(/queued/);
    expect(writingStatus(writing([], null), EN)).toMatch(/^Writing this lesson for you/);
    expect(writingStatus(writing([], "The first"), EN)).toBe("Still writing… the first block is on its way.");
    expect(writingStatus(writing([intro], "x"), EN)).toBe("Still writing… 1 block so far.");
    expect(writingStatus(writing([intro, code, points], null), EN)).toBe("Still writing… 3 blocks so far.");
    const known = { ...writing([intro, code], null), progress: { blocksWritten: 2, blocksExpected: 5, restarts: 0 } };
    expect(writingStatus(known, EN)).toBe("Still writing… 2 of about 5 blocks.");
    const past = { ...writing([intro, code, points], null), progress: { blocksWritten: 3, blocksExpected: 3, restarts: 0 } };
    expect(writingStatus(past, EN)).toBe("Still writing… 3 blocks so far."); // an estimate: it may run past it
  });

  it("counts restarts from the first poll of the visit", () => {
    expect(restartsSince(null, 2)).toBe(0);
    expect(restartsSince(1, 1)).toBe(0);
    expect(restartsSince(1, 3)).toBe(2);
    expect(restartsSince(1, undefined)).toBe(0);
    expect(restartNotice(0, "lesson", EN)).toBeNull();
    expect(restartNotice(1, "lesson", EN)).toBe("The writing started again: the blocks shown before may change or go.");
    expect(restartNotice(2, "outline", EN)).toMatch(/\(2 times\): the modules shown before/);
  });

  it("names the modules of an outline so far", () => {
    expect(outlineStatus(null, EN)).toMatch(/^Writing the outline…/);
    const partial = { title: "T", description: null, objectives: [], modules: [{ title: "A", lessons: [] }], restarts: 0, writes: 0 };
    expect(outlineStatus(partial, EN)).toBe("Writing the outline… 1 module so far. What is shown is not final yet.");
  });
});

function lessonScreen(first: Lesson, status = 202) {
  let current = fetched(first, status, status === 202 ? 1 : null);
  const api = {
    openLesson: vi.fn(async () => current),
    getCourseProgress: vi.fn(async () => fetched({ courseId: "c", lessonCount: 1, completed: 0, percent: 0, finished: false, nextLessonId: null, lessons: [] })),
    putProgress: vi.fn(async () => fetched({ lessonId: "m01-l02", openedAt: null, completedAt: null, completedBy: null, quiz: null, updatedAt: null })),
    listQuestions: vi.fn(async () => fetched({ items: [] })),
    askQuestion: vi.fn(),
  };
  const view = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: "/courses/c/lessons/m01-l02", api });
  const next = async (data: Lesson, nextStatus = 202) => {
    current = fetched(data, nextStatus, nextStatus === 202 ? 1 : null);
    await refetch(view.client, "lesson");
  };
  return { ...view, api, next };
}

describe("the lesson view while it is written", () => {
  it("grows below what is read, says it is not final, then the final lesson replaces it in place", async () => {
    const { container, next } = lessonScreen(writing([], "A **refer"));
    expect(await screen.findByRole("status")).toHaveTextContent("Still writing… the first block is on its way. What is shown is not final yet.");
    expect(container.querySelector(".block.markdown.writing")).toHaveTextContent(/^A refer$/);
    expect(container.querySelector(".block.markdown.writing strong")).toHaveTextContent("refer");
    expect(screen.getByRole("progressbar", { name: "Writing this lesson" })).toBeInTheDocument();

    await next(writing([intro], "Borrowing lets"));
    expect(screen.getByText(/Still writing… 1 block so far\. What is shown is not final yet\./)).toBeInTheDocument();
    const first = container.querySelector("article .block.markdown") as HTMLElement;
    expect(first).toHaveTextContent("A reference borrows a value.");
    expect(first).not.toHaveClass("writing");
    expect(container.querySelectorAll("article .block")).toHaveLength(2); // the finished one, then the one being written

    await next(writing([intro, code, quizBlock], null));
    expect(screen.getByText(/Still writing… 3 blocks so far\./)).toBeInTheDocument();
    // a draft is never final: no completion, no authorship, the quiz cannot be checked yet
    expect(screen.queryByRole("button", { name: "Mark as completed" })).toBeNull();
    expect(screen.queryByText(/Written by an AI model/)).toBeNull();
    expect(screen.getByRole("button", { name: "Check my answers" })).toBeDisabled();
    expect(screen.getByText(/check your answers once the lesson is written/)).toBeInTheDocument();
    const blocksBefore = [...container.querySelectorAll("article .block")];

    await next(lesson({ status: "GENERATED", content: { blocks: [intro, code, quizBlock], generator: "openai:m" }, generatedAt: "2026-01-01T00:00:00Z", retryAfter: null }), 200);
    await screen.findByRole("button", { name: "Mark as completed" });
    expect(screen.queryByText(/Still writing/)).toBeNull();
    expect(screen.queryByRole("progressbar", { name: "Writing this lesson" })).toBeNull();
    // the same elements, not new ones: nothing above the reader is re-laid out
    const blocksAfter = [...container.querySelectorAll("article .block")];
    expect(blocksAfter).toHaveLength(3);
    blocksAfter.forEach((block, i) => expect(block).toBe(blocksBefore[i]));
    expect(container.querySelector("article .lesson-body.draft, article.draft")).toBeNull();
  });

  it("says so when the writing starts again, and drops the blocks it had", async () => {
    const { container, next } = lessonScreen(writing([intro, code], null, 0));
    await screen.findByText(/Still writing… 2 blocks so far/);
    expect(screen.queryByText(/started again/)).toBeNull();
    await next(writing([], "Borrow", 1));
    expect(screen.getByText("The writing started again: the blocks shown before may change or go.")).toBeInTheDocument();
    expect(container.querySelectorAll("article .block")).toHaveLength(1);
  });

  it("does not call restarts before the visit a restart", async () => {
    lessonScreen(writing([intro], null, 2));
    await screen.findByText(/Still writing… 1 block so far/);
    expect(screen.queryByText(/started again/)).toBeNull();
  });

  it("renders partial model output as text, never as HTML", async () => {
    const { container } = lessonScreen(writing([{ type: "markdown", markdown: "<img src=x onerror=alert(1)> ok" }], "<script>alert(2)</script>"));
    await screen.findByText(/Still writing/);
    expect(container.querySelector("article img, article script")).toBeNull();
  });

  it("shows a queued lesson's status before any text, with no empty article", async () => {
    const { container } = lessonScreen(lesson({ status: "PENDING" }));
    await screen.findByText(/This lesson is queued/);
    expect(container.querySelector("article")).toBeNull();
    expect(screen.getByRole("progressbar", { name: "Writing this lesson" })).toBeInTheDocument();
  });
});

function summary(id: string, status: LessonSummary["status"] = "PENDING"): LessonSummary {
  return { id, title: `Lesson ${id}`, summary: "s", order: 0, status, priority: null, error: null, attempts: 0 };
}

function course(over: Partial<CourseDetail>): CourseDetail {
  return {
    id: "c".repeat(32), prompt: "Rust ownership", level: null, size: null, status: "GENERATING", title: null, description: null,
    objectives: [], lessonCount: 0, lessonsGenerated: 0, usage: { promptTokens: 0, completionTokens: 0 }, error: null, attempts: 0,
    createdAt: "", updatedAt: "", version: 1, modules: [], partialOutline: null, sourceIds: [], ...over,
  };
}

describe("the outline as it is written", () => {
  it("shows the modules so far greyed and not links, then the real outline", async () => {
    let current = fetched(course({}));
    const api = {
      getCourse: vi.fn(async () => current),
      getCourseProgress: vi.fn(async () => fetched({ courseId: "c", lessonCount: 2, completed: 0, percent: 0, finished: false, nextLessonId: null, lessons: [] })),
    };
    const { client, container } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: "/courses/c", api });
    await screen.findByText(/Writing the outline… it appears here as it is written\./);

    current = fetched(
      course({
        partialOutline: {
          title: "Rust ownership, for C++ hands", description: "Moves and borrows.", objectives: ["Explain a move"],
          modules: [
            { title: "Moves", lessons: [{ title: "What moves", summary: "Ownership passes" }, { title: "Copy types", summary: "" }] },
            { title: "Borrows", lessons: [{ title: "Shared", summary: "Many readers" }] },
          ],
          restarts: 0,
          writes: 0,
        },
      }),
    );
    await refetch(client, "course");
    expect(screen.getByRole("status")).toHaveTextContent(
      "Writing the outline… 2 modules so far. What is shown is not final yet. Its lessons can be opened once it is finished.",
    );
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Rust ownership, for C++ hands");
    expect(screen.getByText("Explain a move")).toBeInTheDocument();
    const moves = screen.getByRole("region", { name: "Moves (being written)" });
    expect(within(moves).getByText("What moves")).toBeInTheDocument();
    expect(within(moves).queryByRole("link")).toBeNull();
    expect(container.querySelectorAll(".lesson-row.draft")).toHaveLength(3);

    current = fetched(
      course({
        status: "READY", title: "Rust ownership, for C++ hands", objectives: ["Explain a move"], lessonCount: 2,
        modules: [{ id: "m01", title: "Moves", lessons: [summary("m01-l01"), summary("m01-l02")] }],
      }),
    );
    await refetch(client, "course");
    await waitFor(() => expect(screen.queryByText(/Writing the outline/)).toBeNull());
    expect(container.querySelectorAll(".lesson-row.draft")).toHaveLength(0);
    expect(screen.getByRole("link", { name: "Lesson m01-l01" })).toBeInTheDocument();
  });

  it("a German course's outline being written says so in German, on the course screen", async () => {
    const partial = { title: null, description: null, objectives: [], modules: [{ title: "Besitz", lessons: [] }, { title: "Leihen", lessons: [] }], restarts: 0, writes: 0 };
    let current = fetched(course({ language: "German", partialOutline: partial }));
    const api = { getCourse: vi.fn(async () => current), getCourseProgress: vi.fn() };
    const { client } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: "/courses/c", api });
    expect(await screen.findByText(/Die Gliederung wird geschrieben… bisher 2 Module\. Was zu sehen ist, ist noch nicht endgültig\./, {}, { timeout: 4000 })).toBeInTheDocument();
    expect(screen.queryByText(/Writing the outline…/)).toBeNull();
    current = fetched(course({ language: "German", partialOutline: { ...partial, modules: [], restarts: 1 } }));
    await refetch(client, "course");
    expect(screen.getByText("Das Schreiben hat neu begonnen: Die bisher gezeigten Module können sich ändern oder wegfallen.")).toBeInTheDocument();
  });

  it("says so when the outline starts again", async () => {
    const partial = { title: null, description: null, objectives: [], modules: [{ title: "Moves", lessons: [] }], restarts: 0, writes: 0 };
    let current = fetched(course({ partialOutline: partial }));
    const api = { getCourse: vi.fn(async () => current), getCourseProgress: vi.fn() };
    const { client } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: "/courses/c", api });
    await screen.findByText(/1 module so far/);
    current = fetched(course({ partialOutline: { ...partial, modules: [], restarts: 1 } }));
    await refetch(client, "course");
    expect(screen.getByText(/The writing started again: the modules shown before may change or go\./)).toBeInTheDocument();
  });
});
