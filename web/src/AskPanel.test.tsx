import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiError } from "./api/client";
import { AskPanel, askErrorMessage, isBlankQuestion, questionLength, threadStatus } from "./components/AskPanel";
import { fetched, refetch, renderScreen } from "./test-harness";
import type { QuestionView } from "./api/types";

function question(over: Partial<QuestionView>): QuestionView {
  return {
    id: "q1", courseId: "c", lessonId: "m01-l02", question: "Why borrow?", status: "QUEUED", answer: null, partial: null,
    error: null, askedAt: "2026-01-01T00:00:00Z", answeredAt: null, ...over,
  };
}

function panel(items: QuestionView[] = [], ask = vi.fn()) {
  let current = fetched({ items });
  const api = {
    listQuestions: vi.fn(async () => current),
    askQuestion: vi.fn(async (...args: unknown[]) => {
      const asked = await ask(...args); // the thread holds it from then on, as the API's does
      current = fetched({ items: [...current.data.items, asked.data] });
      return asked;
    }),
  };
  const view = renderScreen(<AskPanel courseId="c" lessonId="m01-l02" />, { path: "/", at: "/", api });
  const next = async (answer: QuestionView[]) => {
    current = fetched({ items: answer, ...(answer.some((q) => q.status !== "ANSWERED" && q.status !== "FAILED") ? { retryAfter: 1 } : {}) });
    await refetch(view.client, "questions");
  };
  return { ...view, api, next };
}

describe("the question rules, as the API checks them", () => {
  it("counts characters as the API does and needs a visible one", () => {
    expect(questionLength("héllo")).toBe(5);
    expect(questionLength("🦀🦀")).toBe(2); // code points, not UTF-16 units
    expect(isBlankQuestion("")).toBe(true);
    expect(isBlankQuestion(" \n\t\u200b\u00a0")).toBe(true);
    expect(isBlankQuestion(" ? ")).toBe(false);
  });

  it("words refusals so a learner can act on them", () => {
    const now = new Date("2026-01-01T10:00:00");
    expect(askErrorMessage(new ApiError(429, "rate_limited", "Too many questions this minute.", 30), now)).toMatch(
      /^Too many questions this minute\. You can ask again in 30 s \(at 10:00:30( AM)?\)\.$/,
    );
    expect(askErrorMessage(new ApiError(409, "lesson_not_ready", "lesson is GENERATING"))).toMatch(/ask once it is ready/);
    expect(askErrorMessage(new ApiError(400, "invalid_request", "question: needs a visible character"))).toBe("question: needs a visible character");
    expect(askErrorMessage(new ApiError(404, "lesson_not_found", "no such lesson"))).toMatch(/no longer there/);
  });

  it("says one thing for the whole thread", () => {
    expect(threadStatus([])).toBe("");
    expect(threadStatus([question({ status: "ANSWERING" })])).toBe("Still answering your question…");
    expect(threadStatus([question({ status: "QUEUED" })])).toMatch(/waiting/);
    expect(threadStatus([question({ status: "ANSWERED", answer: "x" })])).toBe("Answered.");
  });
});

describe("ask about this lesson", () => {
  it("counts characters live and disables asking when blank or too long", async () => {
    const user = userEvent.setup();
    panel();
    await screen.findByText(/Nothing asked yet/);
    const box = screen.getByLabelText("Your question");
    const ask = screen.getByRole("button", { name: "Ask" });
    expect(ask).toBeDisabled();
    expect(screen.getByText("0/1000 characters.")).toBeInTheDocument();
    await user.type(box, "   ");
    expect(ask).toBeDisabled();
    await user.clear(box);
    await user.type(box, "Why?");
    expect(screen.getByText("4/1000 characters.")).toBeInTheDocument();
    expect(ask).toBeEnabled();
    await user.clear(box);
    await user.click(box);
    await user.paste("x".repeat(1003));
    expect(screen.getByText("1003/1000 characters: 3 too many.")).toBeInTheDocument();
    expect(box).toHaveAttribute("aria-invalid", "true");
    expect(ask).toBeDisabled();
  });

  it("asks, shows the question at once, and the answer as it is written, as text", async () => {
    const user = userEvent.setup();
    const ask = vi.fn(async (_c: string, _l: string, text: string) => fetched(question({ question: text }), 202));
    const { next, container } = panel([], ask);
    await screen.findByText(/Nothing asked yet/);
    await user.type(screen.getByLabelText("Your question"), "Why borrow?");
    await user.click(screen.getByRole("button", { name: "Ask" }));
    expect(ask).toHaveBeenCalledWith("c", "m01-l02", "Why borrow?");
    const thread = await screen.findByRole("list", { name: "Questions and answers" });
    expect(within(thread).getByText("Why borrow?")).toBeInTheDocument();
    expect(screen.getByLabelText("Your question")).toHaveValue(""); // cleared for the next one
    expect(screen.getByText("Waiting for an answer…")).toBeInTheDocument();

    await next([question({ status: "ANSWERING", partial: "So you **can" })]);
    expect(screen.getByText("Still answering…")).toBeInTheDocument();
    expect(screen.getByText("Still answering your question…")).toBeInTheDocument(); // the live status
    expect(container.querySelector(".answer .writing")).toHaveTextContent("So you can");

    await next([question({ status: "ANSWERED", answer: "So you **can** read without owning. <img src=x onerror=alert(1)>" })]);
    await waitFor(() => expect(screen.queryByText("Still answering…")).toBeNull());
    expect(container.querySelector(".answer strong")).toHaveTextContent("can");
    expect(container.querySelector(".answer img, .answer script")).toBeNull();
    expect(screen.getByText("Answered.")).toBeInTheDocument();
  });

  it("shows a failed answer with its reason", async () => {
    panel([question({ status: "FAILED", error: "the model did not answer" })]);
    expect(await screen.findByText("This question could not be answered: the model did not answer.")).toBeInTheDocument();
  });

  it("keeps the question and says when to retry after a 429", async () => {
    const user = userEvent.setup();
    const ask = vi.fn(async () => {
      throw new ApiError(429, "rate_limited", "Too many questions this minute", 30);
    });
    panel([], ask);
    await screen.findByText(/Nothing asked yet/);
    await user.type(screen.getByLabelText("Your question"), "Again?");
    await user.click(screen.getByRole("button", { name: "Ask" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/Too many questions this minute\. You can ask again in 30 s/);
    expect(screen.getByLabelText("Your question")).toHaveValue("Again?");
    expect(screen.getByRole("button", { name: "Ask" })).toBeDisabled(); // until Retry-After has passed
  });

  it("is not shown at all by an API without the questions routes", async () => {
    const api = { listQuestions: vi.fn(async () => Promise.reject(new ApiError(404, "not_found", "no route"))), askQuestion: vi.fn() };
    const { container } = renderScreen(<AskPanel courseId="c" lessonId="m01-l02" />, { path: "/", at: "/", api });
    await waitFor(() => expect(api.listQuestions).toHaveBeenCalled());
    await waitFor(() => expect(container.querySelector(".ask")).toBeNull());
  });
});
