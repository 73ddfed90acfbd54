import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useLocation } from "react-router-dom";
import { ApiError, type FlowgenApi } from "./api/client";
import type { CourseDetail, QuizGrade, ShareLink, SharedCourse, SharedLesson } from "./api/types";
import { ForkAfterSignIn } from "./components/ForkAfterSignIn";
import { shareUrl, ShareControl } from "./components/ShareControl";
import { ApiContext } from "./context";
import { forkIntent, keepForkIntent } from "./fork";
import SharedScreens from "./pages/Shared";
import { SessionContext, type Session } from "./session";
import { fetched, renderScreen } from "./test-harness";

const TOKEN = "a".repeat(43);
const LINK: ShareLink = { token: TOKEN, url: `https://app.example.com/#/shared/${TOKEN}`, createdAt: "2026-12-06T10:00:00Z" };

function course(share: ShareLink | null = null): CourseDetail {
  return {
    id: "c".repeat(32), prompt: "Rust", status: "READY", title: "Rust ownership", description: null, objectives: [],
    lessonCount: 2, lessonsGenerated: 1, usage: { promptTokens: 0, completionTokens: 0 }, createdAt: "2026-12-06T10:00:00Z",
    updatedAt: "2026-12-06T10:00:00Z", modules: [], share, attempts: 0, version: 1, sourceIds: [],
  } as CourseDetail;
}

const SHARED: SharedCourse = {
  title: "Rust ownership", description: "Moves and borrows", language: null, level: null, objectives: ["Borrow"],
  lessonCount: 2, lessonsWritten: 1,
  modules: [{ id: "m01", title: "Basics", lessons: [
    { id: "m01-l01", title: "Moves", summary: "What a move is", order: 0, status: "GENERATED" },
    { id: "m01-l02", title: "Borrows", summary: "", order: 1, status: "PENDING" },
  ] }],
};  // prettier-ignore

const LESSON: SharedLesson = {
  id: "m01-l01", moduleId: "m01", order: 0, title: "Moves", summary: "What a move is", status: "GENERATED",
  content: { generator: "offline", blocks: [
    { type: "markdown", markdown: "A value has one owner." },
    { type: "quiz", questions: [{ question: "Who owns a moved value?", options: ["The old binding", "The new one"] }] },
  ] },
  previousLessonId: null, nextLessonId: "m01-l02",
} as SharedLesson;  // prettier-ignore

function session(over: Partial<Session> = {}): Session {
  return { user: null, ready: true, signIn: vi.fn(), signOut: vi.fn(), token: async () => "", mode: "local", ...over };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** The shared screens at `at`, the API answering `routes` (method and path -> answer). */
function sharedScreens(at: string, routes: Record<string, () => Response>, who: Session = session()) {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      const key = `${init?.method ?? "GET"} ${url}`;
      calls.push(key);
      expect(new Headers(init?.headers).has("authorization")).toBe(false); // no token, signed in or not
      const answer = routes[key];
      return answer ? answer() : json(404, { error: { code: "share_not_found", message: "nothing is shared at this link" } });
    }),
  );
  function Gate() {
    // as the app's: a share link's screens, or (after "Make it yours") where it went
    const { pathname } = useLocation();
    if (pathname.startsWith("/shared/")) return <SharedScreens config={{ apiUrl: "", auth: { mode: "local", tokenUrl: "/t" } }} />;
    return <p data-testid="where">{pathname}</p>;
  }
  render(
    <SessionContext.Provider value={who}>
      <MemoryRouter initialEntries={[at]}>
        <Gate />
      </MemoryRouter>
    </SessionContext.Provider>,
  );
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
});

describe("the share control on the course page", () => {
  it("shares, shows and copies the link, and stops sharing", async () => {
    const user = userEvent.setup();
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const api = {
      shareCourse: vi.fn(async () => fetched(LINK, 201)),
      stopSharing: vi.fn(async () => fetched(null, 204)),
    };
    const { client } = renderScreen(<ShareControl course={course()} />, { path: "/", at: "/", api: api as Partial<FlowgenApi> });
    client.setQueryData(["course", course().id], course());
    expect(screen.getByText(/Not shared: only you can see this course/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Share by link" }));
    expect(api.shareCourse).toHaveBeenCalledWith(course().id);
    await waitFor(() => expect((client.getQueryData(["course", course().id]) as CourseDetail).share).toEqual(LINK));
  });

  it("shows a shared course's link, copies it and stops sharing", async () => {
    const user = userEvent.setup();
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const api = { shareCourse: vi.fn(), stopSharing: vi.fn(async () => fetched(null, 204)) };
    const { client } = renderScreen(<ShareControl course={course(LINK)} />, { path: "/", at: "/", api: api as Partial<FlowgenApi> });
    client.setQueryData(["course", course().id], course(LINK));
    expect(screen.getByText(/anyone with the link can read this course/)).toBeInTheDocument();
    expect(screen.getByLabelText("Link")).toHaveValue(LINK.url);
    await user.click(screen.getByRole("button", { name: "Copy link" }));
    expect(writeText).toHaveBeenCalledWith(LINK.url);
    expect(await screen.findByRole("button", { name: "Copied" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Stop sharing" }));
    expect(api.stopSharing).toHaveBeenCalledWith(course().id);
    await waitFor(() => expect((client.getQueryData(["course", course().id]) as CourseDetail).share).toBeNull());
  });

  it("opens a link here when the API's is relative, and has none to show for an earlier key's", () => {
    const here = { origin: "http://127.0.0.1:3000", pathname: "/" } as Location;
    expect(shareUrl(LINK, here)).toBe(LINK.url);
    expect(shareUrl({ ...LINK, url: `/#/shared/${TOKEN}` }, here)).toBe(`http://127.0.0.1:3000/#/shared/${TOKEN}`);
    expect(shareUrl({ ...LINK, token: null, url: null }, here)).toBeNull();
  });
});

describe("the shared screens, without an account", () => {
  it("lists the course, says which lessons are written and offers to make it yours", async () => {
    const user = userEvent.setup();
    sharedScreens(`/shared/${TOKEN}`, { [`GET /shared/${TOKEN}`]: () => json(200, SHARED) });
    expect(await screen.findByRole("heading", { level: 1, name: "Rust ownership" })).toBeInTheDocument();
    expect(screen.getByText("1 of 2 lessons written so far.", { exact: false })).toBeInTheDocument();
    expect(screen.getByText("not written yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Moves" })).toHaveAttribute("href", `/shared/${TOKEN}/lessons/m01-l01`);
    await user.click(screen.getByRole("button", { name: "Make it yours" }));
    expect(forkIntent()).toMatchObject({ token: TOKEN, title: "Rust ownership" });
    expect(screen.getByTestId("where")).toHaveTextContent("/"); // to sign in, then forked on arrival
  });

  it("signs in with Auth0 first when nobody is signed in there", async () => {
    const user = userEvent.setup();
    const signIn = vi.fn(async () => {});
    sharedScreens(`/shared/${TOKEN}`, { [`GET /shared/${TOKEN}`]: () => json(200, SHARED) }, session({ mode: "auth0", signIn }));
    await user.click(await screen.findByRole("button", { name: "Make it yours" }));
    expect(signIn).toHaveBeenCalled();
    expect(forkIntent()?.token).toBe(TOKEN);
  });

  it("shows one not-found page for a dead link and for a malformed one", async () => {
    const calls = sharedScreens(`/shared/${TOKEN}`, {});
    expect(await screen.findByRole("heading", { name: "Shared course not found" })).toBeInTheDocument();
    expect(calls).toEqual([`GET /shared/${TOKEN}`]);
    vi.unstubAllGlobals();
    document.body.innerHTML = "";
    const none = sharedScreens("/shared/too-short", {});
    expect(await screen.findByRole("heading", { name: "Shared course not found" })).toBeInTheDocument();
    expect(none).toEqual([]); // not even asked
  });

  it("reads a lesson and checks its quiz without recording anything", async () => {
    const user = userEvent.setup();
    const grade: QuizGrade = { score: 1, total: 1, passed: true, answers: [1], correct: [true], feedback: [null], solution: [{ answerIndex: 1, explanation: "It moved." }] };
    const calls = sharedScreens(`/shared/${TOKEN}/lessons/m01-l01`, {
      [`GET /shared/${TOKEN}`]: () => json(200, SHARED),
      [`GET /shared/${TOKEN}/lessons/m01-l01`]: () => json(200, LESSON),
      [`POST /shared/${TOKEN}/lessons/m01-l01/quiz`]: () => json(200, grade),
    });
    expect(await screen.findByText("A value has one owner.", {}, { timeout: 10_000 })).toBeInTheDocument(); // markdown loads on demand
    await user.click(screen.getByLabelText("The new one"));
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    expect(await screen.findByText("You scored 1 of 1. Passed.")).toBeInTheDocument(); // nothing counts as completed
    expect(calls).toContain(`POST /shared/${TOKEN}/lessons/m01-l01/quiz`);
    expect(screen.getByRole("link", { name: "Next lesson →" })).toHaveAttribute("href", `/shared/${TOKEN}/lessons/m01-l02`);
  });

  it("says a lesson is not written yet, and starts nothing", async () => {
    const calls = sharedScreens(`/shared/${TOKEN}/lessons/m01-l02`, {
      [`GET /shared/${TOKEN}`]: () => json(200, SHARED),
      [`GET /shared/${TOKEN}/lessons/m01-l02`]: () => json(200, { ...LESSON, id: "m01-l02", title: "Borrows", status: "PENDING", content: null }),
    });
    expect(await screen.findByText(/This lesson is not written yet/, {}, { timeout: 10_000 })).toBeInTheDocument();
    expect(calls.every((call) => call.startsWith("GET "))).toBe(true);
  });
});

describe("making it yours once signed in", () => {
  function signedIn(api: Partial<FlowgenApi>) {
    function Where() {
      return <p data-testid="where">{useLocation().pathname}</p>;
    }
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <ApiContext.Provider value={api as FlowgenApi}>
          <MemoryRouter initialEntries={["/"]}>
            <ForkAfterSignIn />
            <Where />
          </MemoryRouter>
        </ApiContext.Provider>
      </QueryClientProvider>,
    );
  }

  it("forks the kept intent once, with its key, and opens the copy", async () => {
    const intent = keepForkIntent(TOKEN, "Rust ownership");
    const forkShared = vi.fn(async () => fetched({ ...course(), id: "f".repeat(32) }, 202));
    signedIn({ forkShared });
    await waitFor(() => expect(screen.getByTestId("where")).toHaveTextContent(`/courses/${"f".repeat(32)}`));
    expect(forkShared).toHaveBeenCalledTimes(1);
    expect(forkShared).toHaveBeenCalledWith(TOKEN, intent.key);
    expect(forkIntent()).toBeNull();
  });

  it("says so when the link died meanwhile, and forgets it", async () => {
    keepForkIntent(TOKEN, "Rust ownership");
    const forkShared = vi.fn(async () => {
      throw new ApiError(404, "share_not_found", "nothing is shared at this link");
    });
    signedIn({ forkShared });
    expect(await screen.findByRole("alert")).toHaveTextContent(/“Rust ownership” could not be made yours: the link no longer leads/);
    expect(forkIntent()).toBeNull();
  });

  it("does nothing without an intent", () => {
    const forkShared = vi.fn();
    signedIn({ forkShared });
    expect(forkShared).not.toHaveBeenCalled();
    expect(screen.queryByRole("status")).toBeNull();
  });
});
