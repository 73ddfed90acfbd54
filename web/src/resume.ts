// Resume where the learner left off (issue 26): the reading position is kept with progress on
// the server (PUT progress {"position": {block, percent}}), so it follows them across devices.
// Position: the lesson's block at the top of the window and how far into it, not pixels, so it
// holds on another screen size.
import { useEffect, useRef, useState, type RefObject } from "react";
import type { LessonProgress } from "./api/types";

export interface Position {
  block: number;
  percent: number;
}

/** Below the sticky header and a little air: what counts as the top of the window. */
const TOP_MARGIN = 16;
const SAVE_AFTER_MS = 1000;

function blocksOf(article: HTMLElement): HTMLElement[] {
  return [...article.querySelectorAll<HTMLElement>(":scope > .block")];
}

/** The block at the top of the window and how far into it (the first whose bottom is below it). */
export function positionIn(article: HTMLElement): Position {
  const blocks = blocksOf(article);
  for (let i = 0; i < blocks.length; i++) {
    const box = blocks[i].getBoundingClientRect();
    if (box.bottom > TOP_MARGIN) {
      const into = box.height > 0 ? ((TOP_MARGIN - box.top) / box.height) * 100 : 0;
      return { block: i, percent: Math.max(0, Math.min(100, Math.round(into))) };
    }
  }
  return { block: Math.max(0, blocks.length - 1), percent: 100 };
}

/** Scrolls so the position is at the top of the window; false when the lesson has no such block. */
export function scrollToPosition(article: HTMLElement, position: Position): boolean {
  const target = blocksOf(article)[position.block];
  if (!target) return false;
  const box = target.getBoundingClientRect();
  window.scrollTo({ top: window.scrollY + box.top + (box.height * position.percent) / 100 - TOP_MARGIN, behavior: "instant" });
  return true;
}

const isStart = (p: Position | null | undefined) => !p || (p.block === 0 && p.percent === 0);

/**
 * Once per visit of a written lesson, when its progress has loaded: goes back to the saved
 * position (saying so), or, on a first visit, records the start (the lesson is now the one in
 * progress). Then saves the position a second after scrolling stops, when it changed.
 * Returns whether the page was moved to a saved position.
 */
export function useReadingPosition(
  article: RefObject<HTMLElement | null>,
  visit: string,
  ready: boolean,
  saved: LessonProgress | null | undefined,
  save: (position: Position) => void,
): boolean {
  const [resumed, setResumed] = useState(false);
  const restored = useRef("");
  const last = useRef<Position | null>(null);
  const saveRef = useRef(save);
  saveRef.current = save;

  useEffect(() => {
    if (!ready || saved === undefined || restored.current === visit || !article.current) return;
    restored.current = visit;
    const position = saved?.position ?? null;
    if (position && !isStart(position) && scrollToPosition(article.current, position)) {
      last.current = position;
      setResumed(true);
    } else {
      setResumed(false);
      last.current = { block: 0, percent: 0 };
      if (!saved?.positionAt) saveRef.current(last.current);
    }
  }, [ready, saved, visit, article]);

  useEffect(() => {
    if (!ready) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onScroll = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!article.current || restored.current !== visit) return;
        const now = positionIn(article.current);
        if (last.current && now.block === last.current.block && Math.abs(now.percent - last.current.percent) < 5) return;
        last.current = now;
        setResumed(false); // read on from there: the note has done its job
        saveRef.current(now);
      }, SAVE_AFTER_MS);
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      clearTimeout(timer);
      window.removeEventListener("scroll", onScroll);
    };
  }, [ready, visit, article]);
  return resumed;
}
