// What the reader sees when writing something failed (issue 25): a failed attempt that the
// system retries (PENDING, or GENERATING again, with `error` set), or a failure that is final
// (FAILED, with the reason and a Retry button). The reason is always the API's own sentence for
// people (`error`), never an internal; the attempt count is the API's (`attempts`, `maxAttempts`).
// Its sentences come from the catalogues (issue 26): the functions take the screen's translator.
import { useEffect, useState } from "react";
import type { Key, Translator } from "./i18n";

/** What the API says of a course or a lesson about its attempts (views, list rows, outline rows). */
export interface Attempted {
  status: string;
  error?: string | null;
  attempts?: number;
  retryAt?: string | null;
  /** Only a lesson's own view gives it; elsewhere the count is shown without it. */
  maxAttempts?: number;
}

export type Subject = "lesson" | "outline";

const FAILED: Record<Subject, Key> = { lesson: "failure.lesson", outline: "failure.outline" };

/** A little after the retry time: the next attempt has been claimed by then (or is about to be). */
export const RETRY_MARGIN_MS = 500;

/** A failed attempt is being retried: not final, not written yet, with the last attempt's reason. */
export function isRetrying(item: Attempted): boolean {
  return Boolean(item.error) && (item.status === "PENDING" || item.status === "GENERATING");
}

/** Milliseconds until the next attempt starts, while waiting for it (PENDING after a failure); else null. */
export function untilRetry(item: Attempted, now: number): number | null {
  if (item.status !== "PENDING" || !item.error || !item.retryAt) return null;
  const at = Date.parse(item.retryAt);
  return Number.isFinite(at) && at > now ? at - now : null;
}

/** The reason as the API words it, without its closing full stop (the sentence goes on). */
export function reasonOf(error: string | null | undefined, { t }: Pick<Translator, "t">): string {
  const reason = (error ?? "").trim().replace(/[.\s]+$/, "");
  return reason || t("failure.unknownReason");
}

function attempt(n: number, max: number | undefined, { t }: Pick<Translator, "t">): string {
  return max ? t("failure.attemptOf", { n, max }) : t("failure.attempt", { n });
}

/**
 * A failed attempt being retried, e.g. "Writing this lesson failed: The writing service could not
 * write this. Trying again in 12 s (attempt 2 of 3)." While the next attempt runs, "Trying again
 * now (attempt 2 of 3)." Null when nothing is being retried.
 */
export function retryingSentence(subject: Subject, item: Attempted, now: number, tr: Pick<Translator, "t">): string | null {
  if (!isRetrying(item)) return null;
  const attempts = item.attempts ?? 0;
  // waiting: `attempts` failed, the next is one more; running: `attempts` counts the one running
  const next = attempt(item.status === "GENERATING" ? Math.max(1, attempts) : attempts + 1, item.maxAttempts, tr);
  const wait = untilRetry(item, now);
  const again =
    wait === null ? tr.t("failure.retryNow", { attempt: next }) : tr.t("failure.retryIn", { seconds: Math.max(1, Math.ceil(wait / 1000)), attempt: next });
  return `${failedSentence(subject, item, tr)} ${again}`;
}

/** A final failure: the API's reason ends with "Tried 3 times; you can try again." */
export function failedSentence(subject: Subject, item: Attempted, tr: Pick<Translator, "t">): string {
  return tr.t(FAILED[subject], { reason: reasonOf(item.error, tr) });
}

/** Now, again every second while `active` (a countdown to the next attempt). */
export function useNow(active: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs]);
  return active ? now : Date.now();
}
