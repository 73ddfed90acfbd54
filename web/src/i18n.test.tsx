// The interface in the course's language (issue 26): catalogues, fallback, Intl formats.
import { screen } from "@testing-library/react";
import { CourseView } from "./pages/CourseView";
import { LessonView } from "./pages/LessonView";
import { languageOf, LANGUAGES } from "./i18n";
import en from "./i18n/en.json";
import { fetched, renderScreen } from "./test-harness";
import type { CourseDetail, Lesson } from "./api/types";

const ID = "d".repeat(32);
// every catalogue file, as a translator leaves it
const FILES = import.meta.glob<Record<string, string>>("./i18n/*.json", { eager: true, import: "default" });

function course(language: string | null): CourseDetail {
  return {
    id: ID, prompt: "Rust", level: null, size: null, status: "READY", title: "Rust-Besitz", description: null, language,
    objectives: ["Besitz erklären"], lessonCount: 2, lessonsGenerated: 1, usage: { promptTokens: 0, completionTokens: 0 }, error: null,
    attempts: 1, createdAt: "", updatedAt: "", version: 1, partialOutline: null,
    modules: [
      {
        id: "m01", title: "Grundlagen",
        lessons: [
          { id: "m01-l01", title: "Was Besitz ist", summary: "s", order: 0, status: "GENERATED", priority: "high", error: null, attempts: 1, readingMinutes: 75 },
          { id: "m01-l02", title: "Ausleihen", summary: "s", order: 1, status: "PENDING", priority: null, error: null, attempts: 0 },
        ],
      },
    ],
  };
}

describe("catalogues", () => {
  it("ships en, de, es, fr, hi and pt, each with every key and the same placeholders as English", () => {
    const files = Object.keys(FILES).map((f) => f.replace("./i18n/", "").replace(".json", "")).sort();
    expect(files).toEqual([...LANGUAGES].sort());
    for (const lang of LANGUAGES) {
      const catalogue = FILES[`./i18n/${lang}.json`];
      expect(Object.keys(catalogue).sort(), lang).toEqual(Object.keys(en).sort());
      for (const [key, text] of Object.entries(en)) {
        const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        expect(names(catalogue[key]), `${lang} ${key}`).toEqual(names(text));
      }
    }
  });

  it("maps the language a learner names to a catalogue, English otherwise", () => {
    expect(["German", "deutsch", "Portuguese (Brazil)", "Español", "français", "Hindi", "हिन्दी", "Hinglish", "", null].map(languageOf)).toEqual([
      "de", "de", "pt", "es", "fr", "hi", "hi", "en", "en", "en",
    ]);
  });
});

describe("a German course", { timeout: 20_000 }, () => {
  it("has a German interface, German numbers, and lang=de for screen readers", async () => {
    const api = {
      getCourse: vi.fn(async () => fetched(course("German"))),
      getCourseProgress: vi.fn(async () =>
        fetched({ courseId: ID, lessonCount: 2, completed: 0, percent: 0, finished: false, nextLessonId: "m01-l01", lessons: [] }),
      ),
    };
    const { container } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: `/courses/${ID}`, api });
    expect(await screen.findByRole("link", { name: "Kurs beginnen" }, { timeout: 4000 })).toBeInTheDocument();
    expect(screen.getByText("0 von 2 Lektionen abgeschlossen (0 %)")).toBeInTheDocument();
    expect(screen.getByText("Noch etwa 2 Std. 30 Min. Lesezeit")).toBeInTheDocument(); // 75 + 75 (the mean)
    expect(screen.getByRole("heading", { name: "Danach kannst du" })).toBeInTheDocument();
    expect(container.querySelectorAll(".lesson-row .badge")[1]).toHaveTextContent("noch nicht geschrieben");
    expect(container.querySelector("main")).toHaveAttribute("lang", "de");
  });

  it("an unknown language keeps English", async () => {
    const api = {
      getCourse: vi.fn(async () => fetched(course("Klingon"))),
      getCourseProgress: vi.fn(async () =>
        fetched({ courseId: ID, lessonCount: 2, completed: 0, percent: 0, finished: false, nextLessonId: "m01-l01", lessons: [] }),
      ),
    };
    const { container } = renderScreen(<CourseView />, { path: "/courses/:courseId", at: `/courses/${ID}`, api });
    expect(await screen.findByRole("link", { name: "Start the course" }, { timeout: 4000 })).toBeInTheDocument();
    expect(container.querySelector("main")).toHaveAttribute("lang", "en");
  });

  it("a German lesson: place, quiz and completion in German, version dates by Intl", async () => {
    window.scrollTo = vi.fn() as unknown as typeof window.scrollTo;
    const lesson: Lesson = {
      id: "m01-l01", courseId: ID, moduleId: "m01", title: "Was Besitz ist", summary: "s", order: 0, status: "GENERATED", priority: "high",
      error: null, attempts: 1, maxAttempts: 3, retryAt: null, partial: null, progress: null, requestedAt: null, generatedAt: "2026-11-28T13:00:00Z",
      previousLessonId: null, nextLessonId: "m01-l02", retryAfter: null, version: 2, usage: { promptTokens: 0, completionTokens: 0 }, readingMinutes: 4,
      versions: [
        { number: 1, generatedAt: "2026-11-27T13:00:00Z", instruction: null, current: false },
        { number: 2, generatedAt: "2026-11-28T13:00:00Z", instruction: "Einfacher", current: true },
      ],
      content: { generator: "offline", blocks: [{ type: "quiz", questions: [{ question: "Ein Besitzer?", options: ["Ja", "Nein"] }] }] },
    };
    const api = {
      openLesson: vi.fn(async () => fetched(lesson)),
      getCourse: vi.fn(async () => fetched(course("Deutsch"))),
      putProgress: vi.fn(async () => fetched({ lessonId: "m01-l01" })),
      getCourseProgress: vi.fn(async () =>
        fetched({ courseId: ID, lessonCount: 2, completed: 0, percent: 0, finished: false, nextLessonId: "m01-l01", lessons: [] }),
      ),
    };
    renderScreen(<LessonView />, { path: "/courses/:courseId/lessons/:lessonId", at: `/courses/${ID}/lessons/m01-l01`, api });
    expect(await screen.findByText("Lektion 1 von 2", {}, { timeout: 4000 })).toBeInTheDocument();
    expect(screen.getByText("Modul 1 von 1: Grundlagen")).toBeInTheDocument();
    expect(screen.getByText("4 Min. Lesezeit")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Teste dich" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Antworten prüfen" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Als abgeschlossen markieren" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Nächste Lektion →" })).toBeInTheDocument();
    const german = new Intl.DateTimeFormat("de", { dateStyle: "medium", timeStyle: "short" }).format(new Date("2026-11-27T13:00:00Z"));
    expect(screen.getByRole("option", { name: new RegExp(`^Version 1 \\(${german}\\)`) })).toBeInTheDocument();
  });
});
