// Place and pace (issue 26): where a lesson sits in its course, and how long is left.
// Reading times come from the API (`readingMinutes`, estimated from each lesson's content by
// flowgen.reading: see docs/api.md); a lesson not written yet counts as the mean of the written
// ones, ASSUMED_MINUTES while none is.
import type { CourseDetail, CourseProgress } from "./api/types";
import { ENGLISH_T, type Translator } from "./i18n";

export const ASSUMED_MINUTES = 6;

export interface Place {
  /** 1-based, across the whole course. */
  number: number;
  total: number;
  moduleNumber: number;
  moduleCount: number;
  moduleTitle: string;
}

/** "Lesson 5 of 12", in "Module 2 of 3: Ownership"; null when the outline does not hold it. */
export function placeOf(course: Pick<CourseDetail, "modules">, lessonId: string): Place | null {
  const all = course.modules.flatMap((m) => m.lessons.map((l) => l.id));
  const number = all.indexOf(lessonId) + 1;
  const m = course.modules.findIndex((module) => module.lessons.some((l) => l.id === lessonId));
  if (!number || m < 0) return null;
  return { number, total: all.length, moduleNumber: m + 1, moduleCount: course.modules.length, moduleTitle: course.modules[m].title };
}

/** Minutes to read what is not completed yet (written lessons by their estimate, the others by
 * the mean of those written); null without an outline. */
export function minutesLeft(course: Pick<CourseDetail, "modules">, progress: Pick<CourseProgress, "lessons"> | undefined): number | null {
  const lessons = course.modules.flatMap((m) => m.lessons);
  if (lessons.length === 0) return null;
  const known = lessons.map((l) => l.readingMinutes).filter((m): m is number => typeof m === "number");
  const assumed = known.length ? Math.round(known.reduce((a, b) => a + b, 0) / known.length) : ASSUMED_MINUTES;
  const done = new Set((progress?.lessons ?? []).filter((p) => p.completedAt).map((p) => p.lessonId));
  return lessons.filter((l) => !done.has(l.id)).reduce((sum, l) => sum + (l.readingMinutes ?? assumed), 0);
}

/** "45 min", "1 h 20 min", in the interface's language (i18n). */
export function duration(minutes: number, t: Translator["t"] = ENGLISH_T): string {
  if (minutes < 60) return t("time.minutes", { m: minutes });
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? t("time.hoursMinutes", { h, m }) : t("time.hours", { h });
}
