// What the reader sees while a lesson (or an outline) is still being written: the finished
// parts so far, the text being written, and one sentence saying it is not final yet.
import { useEffect, useState } from "react";
import type { Block, Lesson, PartialOutline } from "./api/types";
import type { Translator } from "./i18n";

/** The part of a lesson written so far: finished blocks, then the markdown being written. */
export interface Draft {
  blocks: Block[];
  writing: string | null;
}

/** A lesson not GENERATED: what its latest poll holds (nothing yet: no blocks, no text). Never final. */
export function draftOf(lesson: Pick<Lesson, "status" | "partial">): Draft | null {
  if (lesson.status !== "PENDING" && lesson.status !== "GENERATING") return null;
  const partial = lesson.partial;
  return { blocks: partial?.blocks ?? [], writing: partial?.writing?.trim() ? closeOpenMarkdown(partial.writing) : null };
}

/**
 * The markdown being written, cut mid-sentence, closed so it reads as it will once finished: an
 * open code fence is closed (the code shows as code, not as a paragraph that jumps into a frame
 * later), and an open `**` or backtick at its end is closed (or dropped when nothing follows it).
 */
export function closeOpenMarkdown(text: string): string {
  const fences = text.match(/^ {0,3}(```|~~~)/gm) ?? [];
  if (fences.length % 2 === 1) return `${text.replace(/\s+$/, "")}\n${fences.at(-1)?.trim()}`;
  const lastFence = Math.max(text.lastIndexOf("```"), text.lastIndexOf("~~~"));
  const head = lastFence >= 0 ? text.slice(0, lastFence + 3) : "";
  let tail = (lastFence >= 0 ? text.slice(lastFence + 3) : text).replace(/\s+$/, "");
  for (const marker of ["`", "**"]) {
    const found = marker === "`" ? (tail.match(/`/g) ?? []).length : tail.split("**").length - 1;
    if (found % 2 === 0) continue;
    tail = tail.endsWith(marker) ? tail.slice(0, -marker.length).replace(/\s+$/, "") : `${tail}${marker}`;
  }
  return head + tail;
}

/**
 * The live status under a lesson being written. It changes when a block is finished, never with
 * each word, so a screen reader hears it once per block.
 */
export function writingStatus(lesson: Pick<Lesson, "status" | "partial" | "progress">, { t, plural }: Pick<Translator, "t" | "plural">): string {
  if (lesson.status === "PENDING") return t("writing.queued");
  const written = lesson.progress?.blocksWritten ?? lesson.partial?.blocks.length ?? 0;
  const expected = lesson.progress?.blocksExpected ?? null;
  if (written === 0) {
    return lesson.partial?.writing ? t("writing.firstBlock") : t("writing.starting");
  }
  // blocksExpected is an estimate (the course's earlier lessons): a lesson may run past it
  return expected && written < expected
    ? plural(expected, "writing.ofAboutOne", "writing.ofAboutOther", { written })
    : plural(written, "writing.soFarOne", "writing.soFarOther");
}

/**
 * Restarts since the reader opened the lesson: the writing started again from nothing, so blocks
 * shown before may go. `seen` is the count at the first poll of this visit (restarts before it
 * showed the reader nothing).
 */
export function restartsSince(seen: number | null, now: number | null | undefined): number {
  return seen === null || now === null || now === undefined ? 0 : Math.max(0, now - seen);
}

export function restartNotice(restarts: number, what: "lesson" | "outline", { t }: Pick<Translator, "t">): string | null {
  if (restarts <= 0) return null;
  if (restarts === 1) return t(what === "lesson" ? "writing.restartedLesson" : "writing.restartedOutline");
  return t(what === "lesson" ? "writing.restartedLessonTimes" : "writing.restartedOutlineTimes", { count: restarts });
}

/** The outline's status line while it is written. */
export function outlineStatus(partial: PartialOutline | null | undefined, { t, plural }: Pick<Translator, "t" | "plural">): string {
  const modules = partial?.modules.length ?? 0;
  if (modules === 0) return t("writing.outlineEmpty");
  return plural(modules, "writing.outlineOne", "writing.outlineOther");
}

/** The restarts of the writing since this visit's first poll of this version (see restartsSince). */
export function useRestartsSeen(key: string, now: number | undefined): number {
  const [seen, setSeen] = useState<{ key: string; restarts: number } | null>(null);
  useEffect(() => {
    // a new baseline for another version, or when the count went down (a failed lesson retried
    // starts its count again): restarts are counted from there
    if (now !== undefined && (seen?.key !== key || now < seen.restarts)) setSeen({ key, restarts: now });
  }, [key, now, seen]);
  return seen?.key === key ? restartsSince(seen.restarts, now) : 0;
}
