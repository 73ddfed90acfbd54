// What the reader sees when writing something failed (issue 25): a failed attempt that the
// system retries (PENDING, or GENERATING again, with `error` set), or a failure that is final
// (FAILED, with the reason and a Retry button). The reason is always the API's own sentence for
// people (`error`), never an internal; the attempt count is the API's (`attempts`, `maxAttempts`).
import { useEffect, useState } from "react";

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

const FAILED: Record<Subject, string> = { lesson: "Writing this lesson failed", outline: "Writing the outline failed" };

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
export function reasonOf(error: string | null | undefined): string {
  const reason = (error ?? "").trim().replace(/[.\s]+$/, "");
  return reason || "something went wrong";
}

function attempt(n: number, max: number | undefined): string {
  return max ? `attempt ${n} of ${max}` : `attempt ${n}`;
}

/**
 * A failed attempt being retried, e.g. "Writing this lesson failed: The writing service could not
 * write this. Trying again in 12 s (attempt 2 of 3)." While the next attempt runs, "Trying again
 * now (attempt 2 of 3)." Null when nothing is being retried.
 */
export function retryingSentence(subject: Subject, item: Attempted, now: number): string | null {
  if (!isRetrying(item)) return null;
  const attempts = item.attempts ?? 0;
  // waiting: `attempts` failed, the next is one more; running: `attempts` counts the one running
  const next = attempt(item.status === "GENERATING" ? Math.max(1, attempts) : attempts + 1, item.maxAttempts);
  const wait = untilRetry(item, now);
  const when = wait === null ? "now" : `in ${Math.max(1, Math.ceil(wait / 1000))} s`;
  return `${FAILED[subject]}: ${reasonOf(item.error)}. Trying again ${when} (${next}).`;
}

/** A final failure: the API's reason ends with "Tried 3 times; you can try again." */
export function failedSentence(subject: Subject, item: Attempted): string {
  return `${FAILED[subject]}: ${reasonOf(item.error)}.`;
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
