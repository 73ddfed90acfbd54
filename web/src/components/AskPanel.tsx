import { useEffect, useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { QUESTION_MAX_CHARS, type QuestionView } from "../api/types";
import { useOutbox, usePending } from "../context";
import { draftKey, type PendingQuestion } from "../outbox";
import { useAskQuestion, useQuestions } from "../queries/questions";
import { closeOpenMarkdown } from "../writing";
import { MarkdownBlock } from "./Blocks";
import { Citations } from "./Citations";
import { ErrorNotice } from "./Status";
import { ENGLISH_T, useT, type Translator } from "../i18n";

// The API's rule: 1 to 1000 characters (as Python counts them: code points), at least one visible.
const INVISIBLE = /^[\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]*$/u;

export function questionLength(text: string): number {
  return [...text].length;
}

export function isBlankQuestion(text: string): boolean {
  return INVISIBLE.test(text);
}

/** A refused question in words a learner can act on (the API's own words for the rest). */
export function askErrorMessage(error: unknown, now: Date = new Date(), t: Translator["t"] = ENGLISH_T, lang?: string): string {
  if (!(error instanceof ApiError)) return t("ask.notSent");
  if (error.status === 409 && error.code === "lesson_not_ready") return t("ask.notReady");
  if (error.status === 429) {
    const when = error.retryAfter ? new Date(now.getTime() + error.retryAfter * 1000) : null;
    const at = when?.toLocaleTimeString(lang ?? [], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    return `${error.message}${error.message.endsWith(".") ? "" : "."} ${
      when && at ? t("ask.again", { s: error.retryAfter!, at }) : t("ask.moment")
    }`;
  }
  if (error.status === 404) return t("ask.gone");
  return error.message;
}

function QuestionItem({ question }: { question: QuestionView }) {
  const { t } = useT();
  return (
    <li className={`qa ${question.status.toLowerCase()}`}>
      <p className="question">
        <span className="who">{t("ask.youAsked")}</span>
        <span className="text">{question.question}</span>
      </p>
      {question.status === "ANSWERED" && question.answer != null ? (
        <div className="answer">
          <MarkdownBlock text={question.answer} />
          {question.citations?.length ? <Citations citations={question.citations} /> : null}
        </div>
      ) : question.status === "ANSWERING" ? (
        <div className="answer">
          {question.partial ? <MarkdownBlock text={closeOpenMarkdown(question.partial)} writing /> : null}
          <p className="hint busy">
            <span className="spinner" aria-hidden="true" /> {t("ask.stillAnswering")}
          </p>
        </div>
      ) : question.status === "QUEUED" ? (
        <p className="hint busy">
          <span className="spinner" aria-hidden="true" /> {t("ask.waiting")}
        </p>
      ) : (
        <p className="notice error">{t("ask.failed", { why: question.error ?? t("ask.somethingWrong") })}</p>
      )}
    </li>
  );
}

/** A question kept on this device: waiting to be sent, or refused by the API (and why). */
function KeptItem({ question, onDismiss }: { question: PendingQuestion; onDismiss: () => void }) {
  const { t } = useT();
  return (
    <li className="qa kept">
      <p className="question">
        <span className="who">{t("ask.youAsked")}</span>
        <span className="text">{question.question}</span>
      </p>
      {question.failed ? (
        <p className="notice error">
          {t("ask.notSentWhy", { why: question.failed })}{" "}
          <button type="button" className="link" onClick={onDismiss}>
            {t("ask.dismiss")}
          </button>
        </p>
      ) : (
        <p className="notice retrying">{t("outbox.saved")}</p>
      )}
    </li>
  );
}

/** One live sentence for the whole thread: it changes when a question starts or stops being
 * answered, never with each word of the answer. */
export function threadStatus(items: QuestionView[], kept: PendingQuestion[] = [], t: Translator["t"] = ENGLISH_T): string {
  if (kept.some((q) => !q.failed)) return t("ask.statusSaved");
  const answering = items.filter((q) => q.status === "ANSWERING").length;
  const queued = items.filter((q) => q.status === "QUEUED").length;
  if (answering) return t("ask.statusAnswering");
  if (queued) return t("ask.statusWaiting");
  const last = items.at(-1);
  if (last?.status === "ANSWERED") return t("ask.statusAnswered");
  if (last?.status === "FAILED") return t("ask.statusFailed");
  return "";
}

/** Ask about this lesson: the thread (oldest first), then a question box. Polls only while a
 * question waits for its answer, honouring Retry-After. */
export function AskPanel({ courseId, lessonId }: { courseId: string; lessonId: string }) {
  const { t, lang } = useT();
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
      <h2 id="ask-heading">{t("ask.heading")}</h2>
      {thread.error ? <ErrorNotice error={thread.error} /> : null}
      {items.length > 0 || kept.length > 0 ? (
        <ol className="thread" aria-label={t("ask.thread")}>
          {items.map((question) => (
            <QuestionItem key={question.id} question={question} />
          ))}
          {kept.map((question) => (
            <KeptItem key={question.id} question={question} onDismiss={() => outbox.remove(question)} />
          ))}
        </ol>
      ) : thread.data ? (
        <p className="hint">{t("ask.nothingYet")}</p>
      ) : null}
      <p role="status" aria-live="polite" className="visually-hidden">
        {threadStatus(items, kept, t)}
      </p>
      <form onSubmit={submit}>
        <label htmlFor="question">{t("ask.label")}</label>
        <textarea
          id="question"
          rows={3}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby="question-count"
          aria-invalid={over > 0}
          placeholder={t("ask.placeholder")}
        />
        <p id="question-count" className={over > 0 ? "hint too-long" : "hint"} aria-live="polite">
          {t("common.characters", { count: String(length), max: String(QUESTION_MAX_CHARS) })}
          {over > 0 ? `: ${t("common.tooMany", { over })}` : "."}
        </p>
        <button type="submit" disabled={ask.isPending || blank || over > 0 || waiting}>
          {ask.isPending ? t("quiz.asking") : t("ask.submit")}
        </button>
        {ask.error ? (
          <p role="alert" className="notice error ask-error">
            {askErrorMessage(ask.error, new Date(), t, lang)}
          </p>
        ) : null}
      </form>
    </section>
  );
}
