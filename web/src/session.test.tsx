import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "./App";
import type { AppConfig } from "./config";

const CONFIG: AppConfig = { apiUrl: "http://api", auth: { mode: "local", tokenUrl: "/_local/token" } };
const COURSE = "c".repeat(32);

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

const lesson = {
  id: "m01-l02", courseId: COURSE, moduleId: "m01", title: "Borrowing", summary: "What a borrow is", order: 1, status: "GENERATED",
  priority: "high", error: null, attempts: 1, maxAttempts: 3, content: { blocks: [{ type: "markdown", markdown: "## Borrowing" }], generator: "offline" },
  partial: null, progress: null, requestedAt: null, generatedAt: "2026-01-01T00:00:00Z", previousLessonId: null, nextLessonId: null,
  retryAfter: null, version: 1, versions: [], usage: { promptTokens: 0, completionTokens: 0 },
};
const asked = {
  id: "q1", courseId: COURSE, lessonId: "m01-l02", question: "Why borrow?", status: "QUEUED", answer: null, partial: null, error: null,
  askedAt: "2026-01-01T00:00:00Z", answeredAt: null,
};

/** The API and the local stack's token endpoint; `expired`: the token the API refuses (401 token_expired). */
function stack(expired: string) {
  const calls: string[] = [];
  const questions: unknown[] = [];
  const state = { refuseNext: false };
  const fetchMock = vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? "GET";
    calls.push(`${method} ${url}`);
    if (url === "/_local/token") return json(200, { token: "fresh" });
    const auth = (init.headers as Record<string, string>).authorization;
    if (auth === `Bearer ${expired}` || state.refuseNext) {
      state.refuseNext = false;
      return json(401, { error: { code: "token_expired", message: "the token has expired" } });
    }
    const path = url.replace("http://api", "");
    if (path.startsWith("/courses?")) return json(200, { items: [], nextCursor: null });
    if (path === "/progress") return json(200, { courses: [] });
    if (path === `/courses/${COURSE}/lessons/m01-l02`) return json(200, lesson);
    if (path === `/courses/${COURSE}/progress`) return json(200, { courseId: COURSE, lessonCount: 1, completed: 0, percent: 0, finished: false, nextLessonId: null, lessons: [] });
    if (path.endsWith("/progress")) return json(200, { lessonId: "m01-l02", openedAt: "t" });
    if (path.endsWith("/questions") && method === "POST") {
      questions.push(asked);
      return json(202, asked);
    }
    if (path.endsWith("/questions")) return json(200, { items: questions });
    return json(404, { error: { code: "not_found", message: "no route" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, state };
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
  localStorage.clear();
  window.location.hash = "";
});

describe("an expired session", () => {
  it("goes to sign in saying why, with the name filled in", async () => {
    localStorage.setItem("flowgen.local-session", JSON.stringify({ user: "erin", token: "old" }));
    stack("old");
    render(<App config={CONFIG} />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Your session ended; sign in again to continue.");
    expect(screen.getByLabelText("User name")).toHaveValue("erin");
  });

  it("says nothing of the kind after signing out", async () => {
    localStorage.setItem("flowgen.local-session", JSON.stringify({ user: "erin", token: "good" }));
    stack("old");
    const user = userEvent.setup();
    render(<App config={CONFIG} />);
    await screen.findByRole("heading", { name: "My courses" });
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    await screen.findByLabelText("User name");
    expect(screen.queryByText(/Your session ended/)).toBeNull();
  });

  it("keeps the question just asked, and sends it once the learner has signed in again", async () => {
    localStorage.setItem("flowgen.local-session", JSON.stringify({ user: "erin", token: "good" }));
    window.location.hash = `#/courses/${COURSE}/lessons/m01-l02`;
    const { calls, state } = stack("old");
    const user = userEvent.setup();
    render(<App config={CONFIG} />);
    const panel = await screen.findByRole("region", { name: "Ask about this lesson" });
    await within(panel).findByText(/Nothing asked yet/);
    // the session ends while the learner types: the next call (the question) is refused
    state.refuseNext = true;
    await user.type(within(panel).getByLabelText("Your question"), "Why borrow?");
    await user.click(within(panel).getByRole("button", { name: "Ask" }));

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Your session ended; sign in again to continue.");
    expect(alert).toHaveTextContent("What you sent meanwhile is saved on this device; it will be sent once you have signed in.");
    expect(JSON.parse(localStorage.getItem("flowgen.outbox.erin")!).pending).toMatchObject([{ question: "Why borrow?" }]);

    await user.click(screen.getByRole("button", { name: "Sign in" }));
    // back where the learner was, and the question sent
    const again = await screen.findByRole("region", { name: "Ask about this lesson" });
    await waitFor(() => expect(calls.filter((c) => c.startsWith("POST") && c.endsWith("/questions"))).toHaveLength(2));
    expect(await within(again).findByText("Why borrow?")).toBeInTheDocument();
    expect(within(again).queryByText(/Saved on this device/)).toBeNull();
    expect(localStorage.getItem("flowgen.outbox.erin")).toBeNull();
  });
});
