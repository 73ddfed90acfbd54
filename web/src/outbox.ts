// What a learner typed or chose that could not reach the API yet (issue 25): quiz answers and
// questions sent while offline, or when a request failed for network reasons, or when the session
// ended. They are kept on this device (localStorage, per user, keyed by course and lesson) and sent
// when the connection returns or the learner has signed in again (queries/outbox.ts), or the
// learner is told they were not sent. Drafts (a question typed, answers chosen, not sent yet) are
// kept the same way, so an expired session loses nothing.
import { ApiError } from "./api/client";

export interface PendingQuiz {
  kind: "quiz";
  courseId: string;
  lessonId: string;
  answers: (number | null)[];
  reveal: boolean;
  savedAt: string;
  /** Why it was not sent, once the API refused it: the learner is told; it is not sent again. */
  failed?: string | null;
}

export interface PendingQuestion {
  kind: "question";
  /** This device's name for it (the API gives it an id once sent). */
  id: string;
  courseId: string;
  lessonId: string;
  question: string;
  savedAt: string;
  failed?: string | null;
}

export type Pending = PendingQuiz | PendingQuestion;

interface Stored {
  pending: Pending[];
  drafts: Record<string, unknown>;
}

const DRAFTS_KEPT = 50;
const EMPTY: Stored = { pending: [], drafts: {} };

/** A request that did not reach the API (or no answer came back): worth sending again later. */
export function isNetworkFailure(error: unknown): boolean {
  return error instanceof ApiError && error.status === 0;
}

/** The session ended (401, or the gateway's 403 for a token it refused): kept for after signing in. */
export function isSessionEnded(error: unknown): boolean {
  return error instanceof ApiError && error.isAuth;
}

export function isOffline(): boolean {
  return typeof navigator !== "undefined" && navigator.onLine === false;
}

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage refused (a privacy setting): kept in memory for this page
  }
}

export function draftKey(courseId: string, lessonId: string, what: "question" | "quiz"): string {
  return `${courseId}/${lessonId}/${what}`;
}

/** One user's outbox and drafts on this device; every screen of a signed-in user shares it. */
export class Outbox {
  private state: Stored;
  private readonly listeners = new Set<() => void>();
  private readonly key: string;

  constructor(user: string, private readonly store: Storage | null = storage()) {
    this.key = `flowgen.outbox.${user}`;
    this.state = this.read();
  }

  private read(): Stored {
    try {
      const raw = this.store?.getItem(this.key);
      const parsed = raw ? (JSON.parse(raw) as Partial<Stored>) : null;
      return { pending: Array.isArray(parsed?.pending) ? parsed.pending : [], drafts: parsed?.drafts ?? {} };
    } catch {
      return EMPTY;
    }
  }

  private write(next: Stored): void {
    this.state = next;
    try {
      if (next.pending.length === 0 && Object.keys(next.drafts).length === 0) this.store?.removeItem(this.key);
      else this.store?.setItem(this.key, JSON.stringify(next));
    } catch {
      // full or refused: kept in memory for this page
    }
    for (const listener of this.listeners) listener();
  }

  /** For useSyncExternalStore: the same array until something changes. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly pending = (): Pending[] => this.state.pending;

  /** Keeps a quiz's answers (replacing any kept for that lesson) or one more question. */
  keep(item: Omit<PendingQuiz, "savedAt"> | Omit<PendingQuestion, "savedAt" | "id">): Pending {
    const savedAt = new Date().toISOString();
    const kept: Pending =
      item.kind === "quiz" ? { ...item, savedAt, failed: null } : { ...item, id: `local-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, savedAt, failed: null };
    const others = this.state.pending.filter(
      (p) =>
        !(p.courseId === item.courseId && p.lessonId === item.lessonId && p.kind === item.kind) ||
        (p.kind === "question" && item.kind === "question" && p.question !== item.question),
    );
    this.write({ ...this.state, pending: [...others, kept] });
    return kept;
  }

  remove(item: Pending): void {
    this.write({ ...this.state, pending: this.state.pending.filter((p) => !same(p, item)) });
  }

  /** The API refused it: it stays, with why, until the learner has read it (dismiss). */
  fail(item: Pending, reason: string): void {
    this.write({ ...this.state, pending: this.state.pending.map((p) => (same(p, item) ? { ...p, failed: reason } : p)) });
  }

  draft<T>(key: string): T | null {
    return (this.state.drafts[key] as T | undefined) ?? null;
  }

  setDraft(key: string, value: unknown): void {
    const drafts = { ...this.state.drafts };
    delete drafts[key];
    if (value !== null && value !== undefined && value !== "") drafts[key] = value;
    const keys = Object.keys(drafts);
    for (const old of keys.slice(0, Math.max(0, keys.length - DRAFTS_KEPT))) delete drafts[old];
    if (JSON.stringify(drafts) === JSON.stringify(this.state.drafts)) return;
    this.write({ ...this.state, drafts });
  }
}

function same(a: Pending, b: Pending): boolean {
  if (a.kind !== b.kind || a.courseId !== b.courseId || a.lessonId !== b.lessonId) return false;
  return a.kind === "quiz" || (b.kind === "question" && a.id === b.id);
}
