import { QueryClient } from "@tanstack/react-query";
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiError } from "./api/client";
import type { CourseDetail, Lesson, LessonProgress, QuestionView, QuizResult } from "./api/types";
import { AskPanel } from "./components/AskPanel";
import { LessonView } from "./pages/LessonView";
import { draftKey, Outbox, type PendingQuiz } from "./outbox";
import { outboxSender } from "./queries/outbox";
import { fetched, renderScreen } from "./test-harness";

const offline = new ApiError(0, "network", "FlowGen cannot be reached right now.");

function goOffline(): () => void {
  const spy = vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
  return () => {
    spy.mockRestore();
    window.dispatchEvent(new Event("online"));
  };
}

afterEach(() => {
  vi.restoreAllMocks();
  localStorage.clear();
});

describe("the outbox on this device", () => {
  it("keeps quiz answers (the latest per lesson) and questions, per user, across a reload", () => {
    const alice = new Outbox("alice");
    alice.keep({ kind: "quiz", courseId: "c", lessonId: "l1", answers: [0, 1], reveal: false });
    alice.keep({ kind: "quiz", courseId: "c", lessonId: "l1", answers: [1, 1], reveal: false });
    alice.keep({ kind: "question", courseId: "c", lessonId: "l1", question: "Why?" });
    alice.keep({ kind: "question", courseId: "c", lessonId: "l1", question: "Why?" }); // sent twice: kept once
    alice.keep({ kind: "question", courseId: "c", lessonId: "l2", question: "How?" });
    const again = new Outbox("alice"); // a reload
    expect(again.pending().map((p) => (p.kind === "quiz" ? p.answers : p.question))).toEqual([[1, 1], "Why?", "How?"]);
    expect(new Outbox("bob").pending()).toEqual([]); // another user on this device sends none of it
    const [quiz] = again.pending();
    again.fail(quiz, "this lesson has no quiz to answer yet");
    expect(new Outbox("alice").pending()[0].failed).toBe("this lesson has no quiz to answer yet");
    again.remove(quiz);
    expect(new Outbox("alice").pending()).toHaveLength(2);
  });

  it("keeps drafts until they are sent", () => {
    const outbox = new Outbox("alice");
    outbox.setDraft(draftKey("c", "l1", "question"), "Half a quest");
    expect(new Outbox("alice").draft(draftKey("c", "l1", "question"))).toBe("Half a quest");
    outbox.setDraft(draftKey("c", "l1", "question"), "");
    expect(new Outbox("alice").draft(draftKey("c", "l1", "question"))).toBeNull();
    expect(localStorage.getItem("flowgen.outbox.alice")).toBeNull(); // nothing left behind
  });
});

describe("sending what waits", () => {
  const result = { score: 1, total: 1 } as QuizResult;

  function setUp() {
    const outbox = new Outbox("alice");
    const quiz = outbox.keep({ kind: "quiz", courseId: "c", lessonId: "l1", answers: [1], reveal: false });
    outbox.keep({ kind: "question", courseId: "c", lessonId: "l2", question: "Why?" });
    const api = {
      putProgress: vi.fn(async () => fetched<LessonProgress>({ lessonId: "l1", quiz: result })),
      askQuestion: vi.fn(async () => fetched({ id: "q1" } as QuestionView, 202)),
    };
    const ended = vi.fn();
    const send = outboxSender(api as never, outbox, new QueryClient(), ended);
    return { outbox, quiz, api, ended, send };
  }

  it("sends each once, in order, with the JSON types the API wants", async () => {
    const { outbox, api, send } = setUp();
    await send(true);
    expect(api.putProgress).toHaveBeenCalledWith("c", "l1", { quiz: { answers: [1], reveal: false } });
    expect(api.askQuestion).toHaveBeenCalledWith("c", "l2", "Why?");
    expect(outbox.pending()).toEqual([]);
    await send(true);
    expect(api.putProgress).toHaveBeenCalledTimes(1);
  });

  it("keeps them while the network is down, and sends none while offline", async () => {
    const { outbox, api, send } = setUp();
    api.putProgress.mockRejectedValueOnce(offline);
    await send(true);
    expect(api.askQuestion).not.toHaveBeenCalled(); // the rest waits too
    expect(outbox.pending()).toHaveLength(2);
    const online = goOffline();
    await send(true);
    expect(api.putProgress).toHaveBeenCalledTimes(1);
    online();
  });

  it("says which were refused (kept with the API's reason), and stops for an ended session", async () => {
    const { outbox, api, ended, send } = setUp();
    api.putProgress.mockRejectedValueOnce(new ApiError(404, "lesson_not_found", "lesson not found"));
    api.askQuestion.mockRejectedValueOnce(new ApiError(401, "token_expired", "token expired"));
    await send(true);
    expect(outbox.pending().map((p) => p.failed ?? null)).toEqual(["lesson not found", null]);
    expect(ended).toHaveBeenCalled();
  });
});

const intro = { type: "markdown" as const, markdown: "## Borrowing" };
const quizBlock = { type: "quiz" as const, questions: [{ question: "Does a borrow copy?", options: ["Yes", "No"] }] };

function written(): Lesson {
  return {
    id: "m01-l02", courseId: "c", moduleId: "m01", title: "Borrowing", summary: "What a borrow is", order: 1,
    status: "GENERATED", priority: "high", error: null, attempts: 1, maxAttempts: 3, content: { blocks: [intro, quizBlock], generator: "offline" },
    partial: null, progress: null, requestedAt: null, generatedAt: "2026-01-01T00:00:00Z", previousLessonId: null, nextLessonId: null,
    retryAfter: null, version: 1, versions: [], usage: { promptTokens: 0, completionTokens: 0 },
  };
}

function graded(answers: (number | null)[]): QuizResult {
  return {
    score: answers[0] === 1 ? 1 : 0, total: 1, passed: answers[0] === 1, answers, correct: [answers[0] === 1], feedback: [null],
    solution: answers[0] === 1 ? [{ answerIndex: 1, explanation: "It refers." }] : null, tries: [],
    lessonVersion: "2026-01-01T00:00:00Z", takenAt: "2026-01-01T00:01:00Z",
  };
}

function lessonApi() {
  let lessons: LessonProgress[] = [];
  return {
    openLesson: vi.fn(async () => fetched(written())),
    getCourseProgress: vi.fn(async () => fetched({ courseId: "c", lessonCount: 1, completed: 0, percent: 0, finished: false, nextLessonId: null, lessons })),
    putProgress: vi.fn(async (_c: string, lessonId: string, update: { quiz?: { answers: (number | null)[] } | null }) => {
      const saved: LessonProgress = { lessonId, quiz: update.quiz ? graded(update.quiz.answers) : null };
      lessons = [saved];
      return fetched(saved);
    }),
    listQuestions: vi.fn(async () => fetched({ items: [] as QuestionView[] })),
    askQuestion: vi.fn(),
    onAnswer: vi.fn(() => () => {}),
  };
}

describe("a quiz checked offline, on the lesson screen", () => {
  it("is kept on this device and said so at once (never 'Checking…' forever), then sent once back online", async () => {
    const user = userEvent.setup();
    const api = lessonApi();
    const { outbox } = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: "/courses/c/lessons/m01-l02", api, outbox: new Outbox("alice"), sender: true });
    const quiz = await screen.findByRole("region", { name: "Quiz" });
    await waitFor(() => expect(api.putProgress).toHaveBeenCalledTimes(2)); // opened, and the reading position's start
    const online = goOffline();
    await user.click(within(quiz).getByRole("radio", { name: "No" }));
    await user.click(within(quiz).getByRole("button", { name: "Check my answers" }));
    expect(await within(quiz).findByRole("status")).toHaveTextContent("Saved on this device; it will be sent when you are back online.");
    expect(within(quiz).queryByText("Checking…")).toBeNull();
    expect(api.putProgress).toHaveBeenCalledTimes(2); // nothing tried while offline
    expect((outbox.pending()[0] as PendingQuiz).answers).toEqual([1]);
    expect(JSON.parse(localStorage.getItem("flowgen.outbox.alice")!).pending[0]).toMatchObject({ courseId: "c", lessonId: "m01-l02", answers: [1] });

    await act(async () => online()); // the `online` event: the sender sends it
    await waitFor(() => expect(within(quiz).getByRole("status")).toHaveTextContent("You scored 1 of 1. Passed"));
    expect(api.putProgress).toHaveBeenLastCalledWith("c", "m01-l02", { quiz: { answers: [1], reveal: false } });
    expect(outbox.pending()).toEqual([]);
  });

  it("says so in the course's language: German in a German course", async () => {
    const user = userEvent.setup();
    const germanCourse: CourseDetail = {
      id: "c", prompt: "Rust", level: null, size: null, status: "READY", title: "Rust", description: null, objectives: [], lessonCount: 1,
      lessonsGenerated: 1, usage: { promptTokens: 0, completionTokens: 0 }, error: null, attempts: 1, createdAt: "", updatedAt: "", version: 1,
      modules: [], partialOutline: null, language: "German", sourceIds: [],
    };
    const api = { ...lessonApi(), getCourse: vi.fn(async () => fetched(germanCourse)) };
    renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: "/courses/c/lessons/m01-l02", api, outbox: new Outbox("alice") });
    const quiz = await screen.findByRole("region", { name: "Quiz" });
    await within(quiz).findByRole("button", { name: "Antworten prüfen" }, { timeout: 4000 });
    await waitFor(() => expect(api.putProgress).toHaveBeenCalled());
    goOffline();
    await user.click(within(quiz).getByRole("radio", { name: "No" }));
    await user.click(within(quiz).getByRole("button", { name: "Antworten prüfen" }));
    expect(await within(quiz).findByRole("status")).toHaveTextContent("Auf diesem Gerät gespeichert; wird gesendet, sobald du wieder online bist.");
  });

  it("is kept when the request fails for network reasons", async () => {
    const user = userEvent.setup();
    const api = lessonApi();
    const { outbox } = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: "/courses/c/lessons/m01-l02", api });
    const quiz = await screen.findByRole("region", { name: "Quiz" });
    await waitFor(() => expect(api.putProgress).toHaveBeenCalled());
    api.putProgress.mockRejectedValueOnce(offline);
    await user.click(within(quiz).getByRole("radio", { name: "Yes" }));
    await user.click(within(quiz).getByRole("button", { name: "Check my answers" }));
    expect(await within(quiz).findByRole("status")).toHaveTextContent("Saved on this device");
    expect(outbox.pending()).toHaveLength(1);
  });
});

describe("answers chosen and not sent", () => {
  it("come back on the lesson's version they were chosen on, not on another", async () => {
    const outbox = new Outbox("alice");
    outbox.setDraft(draftKey("c", "m01-l02", "quiz"), { version: "2026-01-01T00:00:00Z", answers: [1] });
    const first = renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: "/courses/c/lessons/m01-l02", api: lessonApi(), outbox });
    expect(await screen.findByRole("radio", { name: "No" })).toBeChecked();
    first.unmount();
    outbox.setDraft(draftKey("c", "m01-l02", "quiz"), { version: "2025-12-01T00:00:00Z", answers: [1] });
    renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: "/courses/c/lessons/m01-l02", api: lessonApi(), outbox });
    expect(await screen.findByRole("radio", { name: "No" })).not.toBeChecked();
  });
});

describe("a question asked offline", () => {
  it("is kept, shown as waiting in the thread, and sent once back online", async () => {
    const user = userEvent.setup();
    const asked: QuestionView = {
      id: "q1", courseId: "c", lessonId: "m01-l02", question: "Why borrow?", status: "QUEUED", answer: null, partial: null, error: null,
      askedAt: "2026-01-01T00:00:00Z", answeredAt: null,
    };
    let items: QuestionView[] = [];
    const api = {
      listQuestions: vi.fn(async () => fetched({ items })),
      askQuestion: vi.fn(async () => {
        items = [asked];
        return fetched(asked, 202);
      }),
      onAnswer: vi.fn(() => () => {}),
    };
    const { outbox } = renderScreen(<AskPanel courseId="c" lessonId="m01-l02" />, { path: "/", at: "/", api, outbox: new Outbox("alice"), sender: true });
    await screen.findByText(/Nothing asked yet/);
    const online = goOffline();
    await user.type(screen.getByLabelText("Your question"), "Why borrow?");
    await user.click(screen.getByRole("button", { name: "Ask" }));
    const thread = await screen.findByRole("list", { name: "Questions and answers" });
    expect(within(thread).getByText("Why borrow?")).toBeInTheDocument();
    expect(within(thread).getByText("Saved on this device; it will be sent when you are back online.")).toBeInTheDocument();
    expect(screen.getByLabelText("Your question")).toHaveValue("");
    expect(api.askQuestion).not.toHaveBeenCalled();
    expect(outbox.pending()).toMatchObject([{ kind: "question", question: "Why borrow?" }]);

    await act(async () => online());
    await waitFor(() => expect(api.askQuestion).toHaveBeenCalledWith("c", "m01-l02", "Why borrow?"));
    await waitFor(() => expect(screen.queryByText(/Saved on this device/)).toBeNull());
    expect(within(screen.getByRole("list", { name: "Questions and answers" })).getByText("Why borrow?")).toBeInTheDocument();
    expect(screen.getByText("Waiting for an answer…")).toBeInTheDocument();
  });

  it("keeps what was typed and not sent (a reload, an expired session)", async () => {
    const user = userEvent.setup();
    const outbox = new Outbox("alice");
    const api = { listQuestions: vi.fn(async () => fetched({ items: [] as QuestionView[] })), askQuestion: vi.fn() };
    const first = renderScreen(<AskPanel courseId="c" lessonId="m01-l02" />, { path: "/", at: "/", api, outbox });
    await screen.findByText(/Nothing asked yet/);
    await user.type(screen.getByLabelText("Your question"), "Half typed");
    first.unmount();
    renderScreen(<AskPanel courseId="c" lessonId="m01-l02" />, { path: "/", at: "/", api, outbox: new Outbox("alice") });
    expect(await screen.findByLabelText("Your question")).toHaveValue("Half typed");
  });
});
