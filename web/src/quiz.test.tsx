import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Blocks, type QuizProgress } from "./components/Blocks";
import type { Block, QuizResult } from "./api/types";
import type { PendingQuiz } from "./outbox";

// as the API serves a quiz: questions and options only; the right answers are 1, 0, 1
const questions = [
  { question: "Who owns a moved value?", options: ["The source", "The destination", "Both"] },
  { question: "How many owners?", options: ["One", "Two"] },
  { question: "Borrowing copies?", options: ["Yes", "No"] },
];
const quiz: Block = { type: "quiz", questions };
const RIGHT = [1, 0, 1];
const SOLUTION = [
  { answerIndex: 1, explanation: "A move transfers ownership." },
  { answerIndex: 0, explanation: "Exactly one." },
  { answerIndex: 1, explanation: "It refers." },
];
const FEEDBACK: Record<string, string> = {
  "0:0": "The source gave it away.",
  "2:0": "A borrow refers to the value.",
};

/** What the API's grading answers (flowgen.progress.grade), for these questions. */
function graded(answers: (number | null)[], { reveal = false, tries = 0, at = "2026-01-01T00:00:00Z" } = {}): QuizResult {
  const correct = answers.map((a, i) => a === RIGHT[i]);
  const score = correct.filter(Boolean).length;
  const passed = score >= 2;
  return {
    score, total: 3, passed, answers, correct,
    feedback: answers.map((a, i) => (correct[i] ? null : (FEEDBACK[`${i}:${a}`] ?? null))),
    solution: passed || reveal ? SOLUTION : null,
    tries: Array.from({ length: tries }, () => ({ answers, score: 0, takenAt: "2025-12-31T00:00:00Z" })),
    lessonVersion: "2026-11-28T01:00:00Z", takenAt: at,
  };
}

let taken = 0;
function progress(over: Partial<QuizProgress> = {}) {
  const submit = vi.fn(async (answers: (number | null)[], reveal: boolean) => ({
    result: graded(answers, { reveal, at: `2026-01-01T00:00:0${++taken % 10}Z` }),
    saved: { lessonId: "m01-l01" },
  }));
  return { result: null, version: "2026-11-28T01:00:00Z", submit, ...over } as QuizProgress & { submit: typeof submit };
}

async function choose(user: ReturnType<typeof userEvent.setup>, answers: number[]) {
  for (const [i, answer] of answers.entries()) {
    const question = screen.getAllByRole("group")[i];
    await user.click(within(question).getAllByRole("radio")[answer]);
  }
}

describe("a quiz graded by the API", () => {
  it("marks a wrong answer with why, reveals nothing, and moves focus to the result", async () => {
    const user = userEvent.setup();
    const quizProgress = progress();
    render(<Blocks blocks={[quiz]} quiz={quizProgress} />);
    const check = screen.getByRole("button", { name: "Check my answers" });
    expect(check).toBeDisabled(); // every question needs an answer
    await choose(user, [0, 0, 0]);
    await user.click(check);
    expect(quizProgress.submit).toHaveBeenCalledWith([0, 0, 0], false);
    const status = await screen.findByRole("status");
    expect(status).toHaveTextContent("You scored 1 of 3. Get 2 right to pass: try again, or show the answers.");
    expect(status).toHaveFocus(); // not the page's body
    const [first, second, third] = screen.getAllByRole("group");
    expect(within(first).getByText("Not quite: The source gave it away.")).toBeInTheDocument();
    expect(within(second).getByText("Correct.")).toBeInTheDocument();
    expect(within(third).getByText("Not quite: A borrow refers to the value.")).toBeInTheDocument();
    // the learner's own choice is named and framed, not just a greyed radio
    expect(within(first).getByRole("radio", { name: /The source ✗ Your answer/ })).toBeChecked();
    expect(first.querySelector(".option.chosen.wrong")).toHaveTextContent("The source");
    expect(within(second).getByRole("radio", { name: /One ✓ Your answer/ })).toBeChecked();
    // nothing gives the right answers away before passing or asking
    expect(screen.queryByText("Right answer")).toBeNull();
    expect(screen.queryByText(/The answer is/)).toBeNull();
    expect(screen.queryByText("A move transfers ownership.", { exact: false })).toBeNull();
  });

  it("tries again with the answers kept, and sends the changed ones", async () => {
    const user = userEvent.setup();
    const quizProgress = progress();
    render(<Blocks blocks={[quiz]} quiz={quizProgress} />);
    await choose(user, [0, 0, 0]);
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    await user.click(await screen.findByRole("button", { name: "Try again" }));
    const status = screen.getByRole("status");
    expect(status).toHaveTextContent("Your answers are kept: change the ones marked “Not quite”, then check again.");
    expect(status).toHaveFocus();
    const [first] = screen.getAllByRole("group");
    expect(within(first).getAllByRole("radio")[0]).toBeChecked(); // the form is kept
    expect(within(first).getAllByRole("radio")[0]).toBeEnabled();
    expect(within(first).getByText("Not quite: The source gave it away.")).toBeInTheDocument(); // until changed
    await user.click(within(first).getAllByRole("radio")[1]);
    expect(within(first).queryByText(/Not quite/)).toBeNull();
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    expect(quizProgress.submit).toHaveBeenLastCalledWith([1, 0, 0], false);
    expect(await screen.findByRole("status")).toHaveTextContent("You scored 2 of 3. Passed: this lesson counts as completed.");
  });

  it("shows the answers when asked, with why, and keeps the learner's choice marked", async () => {
    const user = userEvent.setup();
    const quizProgress = progress();
    render(<Blocks blocks={[quiz]} quiz={quizProgress} />);
    await choose(user, [0, 1, 0]);
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    await user.click(await screen.findByRole("button", { name: "Show the answers" }));
    expect(quizProgress.submit).toHaveBeenLastCalledWith([0, 1, 0], true);
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("You scored 0 of 3. Get 2 right to pass. The right answers are marked."));
    expect(screen.getByRole("status")).toHaveFocus();
    const [first] = screen.getAllByRole("group");
    expect(within(first).getByRole("radio", { name: /The destination Right answer/ })).not.toBeChecked();
    expect(within(first).getByRole("radio", { name: /The source ✗ Your answer/ })).toBeChecked();
    expect(within(first).getByText(/^Not quite: The source gave it away\. The answer is “The destination”\. A move transfers ownership\.$/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Show the answers" })).toBeNull();
  });

  it("reveals the answers and their explanations on a pass", async () => {
    const user = userEvent.setup();
    render(<Blocks blocks={[quiz]} quiz={progress()} />);
    await choose(user, RIGHT);
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    expect(await screen.findByRole("status")).toHaveTextContent("You scored 3 of 3. Passed");
    expect(screen.getByText("Correct. A move transfers ownership.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Show the answers" })).toBeNull();
  });

  it("shows a stored result when the learner comes back, with earlier tries", () => {
    const stored = graded([0, 1, 0], { tries: 1 });
    render(<Blocks blocks={[quiz]} quiz={progress({ result: stored })} />);
    expect(screen.getByRole("status")).toHaveTextContent("You scored 0 of 3.");
    expect(screen.getAllByRole("radio", { checked: true })).toHaveLength(3);
    expect(screen.getByText("Your earlier tries: 0 of 3.")).toBeInTheDocument();
  });

  it("says so when the stored result was taken on an earlier version", () => {
    const stored = { ...graded([1, 0, 0]), lessonVersion: "2026-11-27T00:00:00Z" };
    render(<Blocks blocks={[quiz]} quiz={progress({ result: stored })} />);
    expect(screen.getByText("You scored 2 of 3 on an earlier version of this lesson.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Check my answers" })).toBeDisabled();
  });

  it("cannot be checked while the lesson is written, or without a way to grade it", () => {
    render(<Blocks blocks={[quiz]} draft />);
    expect(screen.getByRole("button", { name: "Check my answers" })).toBeDisabled();
    expect(screen.getByText(/check your answers once the lesson is written/)).toBeInTheDocument();
  });
});

describe("a quiz checked offline", () => {
  const pending: PendingQuiz = { kind: "quiz", courseId: "c", lessonId: "m01-l01", answers: [1, 0, 0], reveal: false, savedAt: "t" };

  it("says the answers are saved on this device, then shows the result once they were sent", async () => {
    const user = userEvent.setup();
    const submit = vi.fn(async () => ({ kept: true as const }));
    const { rerender } = render(<Blocks blocks={[quiz]} quiz={progress({ submit })} />);
    await choose(user, [1, 0, 0]);
    await user.click(screen.getByRole("button", { name: "Check my answers" }));
    const status = await screen.findByRole("status");
    expect(status).toHaveTextContent("Saved on this device; it will be sent when you are back online.");
    expect(status).toHaveFocus();
    expect(screen.queryByText("Checking…")).toBeNull(); // never "Checking…" forever
    // still waiting: the outbox holds it
    rerender(<Blocks blocks={[quiz]} quiz={progress({ submit, pending })} />);
    expect(screen.getByRole("status")).toHaveTextContent("Saved on this device");
    // sent (the outbox is empty again) and graded: the stored result is shown
    rerender(<Blocks blocks={[quiz]} quiz={progress({ submit, pending: null, result: graded([1, 0, 0]) })} />);
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("You scored 2 of 3. Passed"));
  });

  it("shows kept answers when the learner comes back, and a refusal as not sent", async () => {
    const user = userEvent.setup();
    const dismiss = vi.fn();
    const { rerender } = render(<Blocks blocks={[quiz]} quiz={progress({ pending })} />);
    expect(screen.getByRole("status")).toHaveTextContent("Saved on this device");
    expect(screen.getAllByRole("radio", { checked: true })).toHaveLength(3);
    rerender(<Blocks blocks={[quiz]} quiz={progress({ pending: { ...pending, failed: "this lesson has no quiz to answer yet" }, dismiss })} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Your answers saved on this device were not sent: this lesson has no quiz to answer yet");
    await user.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(dismiss).toHaveBeenCalled();
  });

  it("restores answers chosen and not sent (a reload, an expired session)", async () => {
    const user = userEvent.setup();
    const saveDraft = vi.fn();
    render(<Blocks blocks={[quiz]} quiz={progress({ draft: [1, null, 1], saveDraft })} />);
    const [, second] = screen.getAllByRole("group");
    expect(screen.getAllByRole("radio", { checked: true })).toHaveLength(2);
    await user.click(within(second).getAllByRole("radio")[0]);
    expect(saveDraft).toHaveBeenLastCalledWith([1, 0, 1]);
  });
});
