import { useEffect, useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { QUESTION_MAX_CHARS, type QuestionView } from "../api/types";
import { useOutbox, usePending } from "../context";
import { draftKey, SAVED_ON_DEVICE, type PendingQuestion } from "../outbox";
import { useAskQuestion, useQuestions } from "../queries/questions";
import { closeOpenMarkdown } from "../writing";
import { MarkdownBlock } from "./Blocks";
import { ErrorNotice } from "./Status";

// The API's rule: 1 to 1000 characters (as Python counts them: code points), at least one visible.
const INVISIBLE = /^[\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]*$/u;

export function questionLength(text: string): number {
  return [...text].length;
}

export function isBlankQuestion(text: string): boolean {
  return INVISIBLE.test(text);
}

/** A refused question in words a learner can act on (the API's own words for the rest). */
export function askErrorMessage(error: unknown, now: Date = new Date()): string {
  if (!(error instanceof ApiError)) return "Your question could not be sent; try again.";
  if (error.status === 409 && error.code === "lesson_not_ready")
    return "This lesson is being written again: you can ask once it is ready.";
  if (error.status === 429) {
    const when = error.retryAfter ? new Date(now.getTime() + error.retryAfter * 1000) : null;
    const at = when?.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    return `${error.message}${error.message.endsWith(".") ? "" : "."} ${
      when ? `You can ask again in ${error.retryAfter} s (at ${at}).` : "Try again in a moment."
    }`;
  }
  if (error.status === 404) return "This lesson is no longer there: it may have been removed from the course.";
  return error.message;
}

function QuestionItem({ question }: { question: QuestionView }) {
  return (
    <li className={`qa ${question.status.toLowerCase()}`}>
      <p className="question">
        <span className="who">You asked</span>
        <span className="text">{question.question}</span>
      </p>
      {question.status === "ANSWERED" && question.answer != null ? (
        <div className="answer">
          <MarkdownBlock text={question.answer} />
        </div>
      ) : question.status === "ANSWERING" ? (
        <div className="answer">
          {question.partial ? <MarkdownBlock text={closeOpenMarkdown(question.partial)} writing /> : null}
          <p className="hint busy">
            <span className="spinner" aria-hidden="true" /> Still answering…
          </p>
        </div>
      ) : question.status === "QUEUED" ? (
        <p className="hint busy">
          <span className="spinner" aria-hidden="true" /> Waiting for an answer…
        </p>
      ) : (
        <p className="notice error">This question could not be answered: {question.error ?? "something went wrong"}.</p>
      )}
    </li>
  );
}

/** A question kept on this device: waiting to be sent, or refused by the API (and why). */
function KeptItem({ question, onDismiss }: { question: PendingQuestion; onDismiss: () => void }) {
  return (
    <li className="qa kept">
      <p className="question">
        <span className="who">You asked</span>
        <span className="text">{question.question}</span>
      </p>
      {question.failed ? (
        <p className="notice error">
          Not sent: {question.failed}{" "}
          <button type="button" className="link" onClick={onDismiss}>
            Dismiss
          </button>
        </p>
      ) : (
        <p className="notice retrying">{SAVED_ON_DEVICE}</p>
      )}
    </li>
  );
}

/** One live sentence for the whole thread: it changes when a question starts or stops being
 * answered, never with each word of the answer. */
export function threadStatus(items: QuestionView[], kept: PendingQuestion[] = []): string {
  if (kept.some((q) => !q.failed)) return `Your question is ${SAVED_ON_DEVICE.charAt(0).toLowerCase()}${SAVED_ON_DEVICE.slice(1)}`;
  const answering = items.filter((q) => q.status === "ANSWERING").length;
  const queued = items.filter((q) => q.status === "QUEUED").length;
  if (answering) return "Still answering your question…";
  if (queued) return "Your question is waiting for an answer…";
  const last = items.at(-1);
  if (last?.status === "ANSWERED") return "Answered.";
  if (last?.status === "FAILED") return "Your last question could not be answered.";
  return "";
}

/** Ask about this lesson: the thread (oldest first), then a question box. Polls only while a
 * question waits for its answer, honouring Retry-After. */
export function AskPanel({ courseId, lessonId }: { courseId: string; lessonId: string }) {
  const thread = useQuestions(courseId, lessonId);
  const outbox = useOutbox();
  const draft = draftKey(courseId, lessonId, "question");
  const kept = usePending().filter(
    (p): p is PendingQuestion => p.kind === "question" && p.courseId === courseId && p.lessonId === lessonId,
  );
  // what was typed and not sent survives a reload or an expired session
  const [text, setTextState] = useState(() => outbox.draft<string>(draft) ?? "");
  const setText = (value: string) => {
    setTextState(value);
    outbox.setDraft(draft, value);
  };
  const [blockedUntil, setBlockedUntil] = useState<number | null>(null);
  useEffect(() => {
    if (blockedUntil === null) return;
    const timer = setTimeout(() => setBlockedUntil(null), Math.max(0, blockedUntil - Date.now()));
    return () => clearTimeout(timer);
  }, [blockedUntil]);
  const ask = useAskQuestion(courseId, lessonId, {
    onSuccess: () => setText(""),
    onError: (error) => {
      if (error instanceof ApiError && error.status === 429 && error.retryAfter)
        setBlockedUntil(Date.now() + error.retryAfter * 1000);
    },
  });
  // the routes are not there (an older API): no panel rather than an error under every lesson
  if (thread.error instanceof ApiError && (thread.error.status === 404 || thread.error.status === 405)) return null;

  const length = questionLength(text);
  const over = length - QUESTION_MAX_CHARS;
  const blank = isBlankQuestion(text);
  const items = thread.data?.data.items ?? [];
  const waiting = blockedUntil !== null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (blank || over > 0 || ask.isPending || waiting) return;
    ask.mutate(text);
  };
  return (
    <section className="ask no-print" aria-labelledby="ask-heading">
      <h2 id="ask-heading">Ask about this lesson</h2>
      {thread.error ? <ErrorNotice error={thread.error} /> : null}
      {items.length > 0 || kept.length > 0 ? (
        <ol className="thread" aria-label="Questions and answers">
          {items.map((question) => (
            <QuestionItem key={question.id} question={question} />
          ))}
          {kept.map((question) => (
            <KeptItem key={question.id} question={question} onDismiss={() => outbox.remove(question)} />
          ))}
        </ol>
      ) : thread.data ? (
        <p className="hint">Nothing asked yet. Answers are written by an AI model from this lesson.</p>
      ) : null}
      <p role="status" aria-live="polite" className="visually-hidden">
        {threadStatus(items, kept)}
      </p>
      <form onSubmit={submit}>
        <label htmlFor="question">Your question</label>
        <textarea
          id="question"
          rows={3}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby="question-count"
          aria-invalid={over > 0}
          placeholder="What does this part mean? Could you give another example?"
        />
        <p id="question-count" className={over > 0 ? "hint too-long" : "hint"} aria-live="polite">
          {length}/{QUESTION_MAX_CHARS} characters{over > 0 ? `: ${over} too many.` : "."}
        </p>
        <button type="submit" disabled={ask.isPending || blank || over > 0 || waiting}>
          {ask.isPending ? "Asking…" : "Ask"}
        </button>
        {ask.error ? (
          <p role="alert" className="notice error ask-error">
            {askErrorMessage(ask.error)}
          </p>
        ) : null}
      </form>
    </section>
  );
}
