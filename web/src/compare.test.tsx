// Comparing an earlier version of a lesson with the current one (issue 26).
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import axe from "axe-core";
import { ApiError } from "./api/client";
import { compareBlocks } from "./components/VersionCompare";
import { LessonView } from "./pages/LessonView";
import { fetched, refetch, renderScreen } from "./test-harness";
import type { Block, CourseDetail, Lesson, LessonVersionRead } from "./api/types";

const ID = "e".repeat(32);
const md = (markdown: string): Block => ({ type: "markdown", markdown });

const OUTLINE: CourseDetail = {
  id: ID, prompt: "Rust", level: null, size: null, status: "READY", title: "Rust", description: null, language: null,
  objectives: [], lessonCount: 1, lessonsGenerated: 1, usage: { promptTokens: 0, completionTokens: 0 }, error: null,
  attempts: 1, createdAt: "", updatedAt: "", version: 1, partialOutline: null, sourceIds: [],
  modules: [{ id: "m01", title: "Moves", lessons: [{ id: "m01-l01", title: "Moves", summary: "s", order: 0, status: "GENERATED", priority: null, error: null, attempts: 1 }] }],
};

const V1 = [md("## Moves\n\nOwnership moves a value."), md("A borrow lends it."), { type: "key_points", points: ["One owner"] } as Block, md("Lifetimes end it.")];
const V2 = [md("## Moves\n\nOwnership moves a value."), md("A borrow lends it, like a library book."), { type: "key_points", points: ["One owner"] } as Block, md("Try it: cargo run.")];
const V2_EXTRA = [
  ...V2,
  md("A brand new closing note."),
  { type: "code", language: "rust", code: "let b = a;", caption: "A move" } as Block,
  { type: "quiz", questions: [{ question: "Who owns it?", options: ["a", "b"] }] } as Block,
];

function lesson(version: number, blocks: Block[], generatedAt: string, versions = 2): Lesson {
  const all = [
    { number: 1, generatedAt: "2026-11-27T10:00:00Z", instruction: null, current: version === 1 },
    { number: 2, generatedAt: "2026-11-28T10:00:00Z", instruction: "With an analogy", current: version === 2 },
  ].slice(0, versions);
  return {
    id: "m01-l01", courseId: ID, moduleId: "m01", title: "Moves", summary: "s", order: 0, status: "GENERATED", priority: null,
    error: null, attempts: 1, maxAttempts: 3, retryAt: null, partial: null, progress: null, requestedAt: null, generatedAt,
    previousLessonId: null, nextLessonId: null, retryAfter: null, version, versions: all, usage: { promptTokens: 0, completionTokens: 0 },
    content: { generator: "offline", blocks },
  };
}

/** Version `number` as GET .../versions/{n} answers it: the earlier side of a comparison. */
function version(number: number, blocks: Block[], generatedAt: string): LessonVersionRead {
  return { lessonId: "m01-l01", number, instruction: number === 2 ? "With an analogy" : null, generatedAt, content: { generator: "offline", blocks } };
}

const progressApi = {
  getCourse: vi.fn(async () => fetched(OUTLINE)),
  putProgress: vi.fn(async (_c: string, lessonId: string) => fetched({ lessonId })),
  getCourseProgress: vi.fn(async () => fetched({ courseId: ID, lessonCount: 1, completed: 0, percent: 0, finished: false, nextLessonId: "m01-l01", lessons: [] })),
};

describe("block-level comparison", () => {
  it("matches equal blocks in order; a differing pair is changed, one without a counterpart is only in its version", () => {
    expect(compareBlocks(V1, V2)).toEqual({ before: ["same", "changed", "same", "changed"], after: ["same", "changed", "same", "changed"] });
    expect(compareBlocks(V1, V2_EXTRA).after).toEqual(["same", "changed", "same", "changed", "only", "only", "only"]);
    expect(compareBlocks([md("a"), md("b")], [md("b")])).toEqual({ before: ["only", "same"], after: ["same"] });
    expect(compareBlocks(V1, V1).before.every((m) => m === "same")).toBe(true);
    // whitespace alone is no change
    expect(compareBlocks([md("a  b\n")], [md("a b")]).before).toEqual(["same"]);
  });
});

describe("Compare with the current version", { timeout: 20_000 }, () => {
  beforeEach(() => {
    window.scrollTo = vi.fn() as unknown as typeof window.scrollTo;
  });

  /** Version 1 read, then rewritten: version 2 arrives in place (as after "Rewrite the lesson"). */
  async function readThenRewritten(current: Block[] = V2) {
    let answer = fetched(lesson(1, V1, "2026-11-27T10:00:00Z", 1));
    const api = {
      ...progressApi,
      openLesson: vi.fn(async () => answer),
      selectLessonVersion: vi.fn(async () => fetched(lesson(1, V1, "2026-11-27T10:00:00Z"))),
      lessonVersion: vi.fn(async () => fetched(version(1, V1, "2026-11-27T10:00:00Z"))),
    };
    const view = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: `/courses/${ID}/lessons/m01-l01`, api });
    await screen.findByText("Lifetimes end it.");
    answer = fetched(lesson(2, current, "2026-11-28T10:00:00Z"));
    await refetch(view.client, "lesson");
    await screen.findByText("Try it: cargo run.");
    return { ...view, api };
  }

  it("shows both versions side by side, headed with number and date, the differing blocks marked", async () => {
    const user = userEvent.setup();
    const { container, api } = await readThenRewritten(V2_EXTRA);
    const versions = screen.getByRole("region", { name: "Versions of this lesson" });
    const open = within(versions).getByRole("button", { name: "Compare version 1 with the current version" });
    expect(open).toHaveAttribute("aria-expanded", "false");
    await user.click(open);

    const compared = await screen.findByRole("region", { name: "Version 1 and version 2 side by side" });
    expect(open).toHaveAttribute("aria-expanded", "true");
    expect(api.lessonVersion).toHaveBeenCalledWith(ID, "m01-l01", 1); // the earlier side, read from the API
    const date = (iso: string) => new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
    const earlier = within(compared).getByRole("region", { name: `Version 1, ${date("2026-11-27T10:00:00Z")}` });
    const current = within(compared).getByRole("region", { name: `Version 2 (current), ${date("2026-11-28T10:00:00Z")}` });
    expect(compared.querySelector(".compare-columns")?.children).toHaveLength(2); // the two columns (stacked below 40rem by CSS)

    const marked = (side: HTMLElement, mark: string) =>
      [...side.querySelectorAll(`.compare-block.${mark}`)].map((b) => b.textContent?.replace(/^(Changed|Only in this version)/, ""));
    expect(marked(earlier, "changed")).toEqual(["A borrow lends it.", "Lifetimes end it."]);
    expect(marked(current, "changed")).toEqual(["A borrow lends it, like a library book.", "Try it: cargo run."]);
    expect(marked(current, "only")[0]).toBe("A brand new closing note.");
    expect(marked(current, "only")).toHaveLength(3); // and the code and the quiz, shown as text: nothing to answer twice
    expect(within(current).queryByRole("radio")).toBeNull();
    expect(within(current).getAllByText("Changed")).toHaveLength(2);
    expect(within(current).getAllByText("Only in this version")).toHaveLength(3);
    expect(earlier.querySelectorAll(".compare-block.same")).toHaveLength(2);
    // the lesson's own headings sit under each side's h3 (axe's heading-order below holds it)
    expect(within(current).getByRole("heading", { name: "Moves" }).tagName).toBe("H4");
    expect(container.querySelector("article.lesson-body")).toHaveTextContent("Try it: cargo run."); // the lesson itself unchanged
    // axe on the comparison (colour contrast is for the browser tests: jsdom does not lay out)
    expect((await axe.run(compared, { rules: { "color-contrast": { enabled: false } } })).violations).toEqual([]);
  });

  it("moves focus to the comparison when it opens and back to its control when it closes, by keyboard alone", async () => {
    const user = userEvent.setup();
    await readThenRewritten();
    const open = screen.getByRole("button", { name: "Compare version 1 with the current version" });
    open.focus();
    await user.keyboard("{Enter}");
    const heading = await screen.findByRole("heading", { name: "Version 1 and version 2 side by side" });
    await waitFor(() => expect(heading).toHaveFocus());
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("region", { name: "Version 1 and version 2 side by side" })).toBeNull();
    expect(open).toHaveFocus();

    await user.keyboard(" "); // open again, close with its own button
    const close = await screen.findByRole("button", { name: "Close the comparison" });
    close.focus();
    await user.keyboard("{Enter}");
    expect(screen.queryByRole("heading", { name: "Version 1 and version 2 side by side" })).toBeNull();
    expect(open).toHaveFocus();
  });

  /** A tab that has shown only the current version (2): version 1 is what the API answers. */
  function openedAtVersion2(lessonVersion: (c: string, l: string, n: number) => Promise<ReturnType<typeof fetched<LessonVersionRead>>>) {
    const api = { ...progressApi, openLesson: vi.fn(async () => fetched(lesson(2, V2, "2026-11-28T10:00:00Z"))), lessonVersion: vi.fn(lessonVersion) };
    renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: `/courses/${ID}/lessons/m01-l01`, api });
    return api;
  }

  it("compares any kept version, one this tab never showed, by reading it from the API once", async () => {
    const user = userEvent.setup();
    const api = openedAtVersion2(async (_c, _l, n) => fetched(version(n, V1, "2026-11-27T10:00:00Z")));
    const open = await screen.findByRole("button", { name: "Compare version 1 with the current version" });
    expect(open).toBeEnabled();
    expect(open).not.toHaveAttribute("aria-describedby");
    expect(api.lessonVersion).not.toHaveBeenCalled(); // nothing read before it is asked for
    await user.click(open);
    const compared = await screen.findByRole("region", { name: "Version 1 and version 2 side by side" });
    // version 1's text was never on this page: it can only have come from GET .../versions/1
    expect(await within(compared).findByText("Lifetimes end it.")).toBeInTheDocument();
    expect(api.lessonVersion).toHaveBeenCalledExactlyOnceWith(ID, "m01-l01", 1);

    await user.click(within(compared).getByRole("button", { name: "Close the comparison" }));
    await user.click(open); // opened again: a version never changes, so it is not read again
    await screen.findByRole("region", { name: "Version 1 and version 2 side by side" });
    expect(api.lessonVersion).toHaveBeenCalledTimes(1);
  });

  it("says so in the API's words when the version is no longer kept", async () => {
    const user = userEvent.setup();
    const gone = "version 1 is no longer kept: a lesson keeps its current version and its 10 latest earlier ones";
    openedAtVersion2(async () => {
      throw new ApiError(404, "version_not_kept", gone);
    });
    await user.click(await screen.findByRole("button", { name: "Compare version 1 with the current version" }));
    const compared = await screen.findByRole("region", { name: "Version 1 and version 2 side by side" });
    expect(await within(compared).findByRole("alert")).toHaveTextContent(gone);
    expect(compared.querySelector(".compare-columns")).toBeNull();
  });
});
