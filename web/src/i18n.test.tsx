// The interface in the course's language (issue 26): catalogues, fallback, Intl formats.
import { screen, waitFor } from "@testing-library/react";
import { CourseView } from "./pages/CourseView";
import { Courses } from "./pages/Courses";
import { LessonView } from "./pages/LessonView";
import { NewCourse } from "./pages/NewCourse";
import { browserLanguage, languageOf, LANGUAGES } from "./i18n";
import en from "./i18n/en.json";
import { fetched, renderScreen } from "./test-harness";
import type { CourseDetail, CourseSummary, Lesson } from "./api/types";

const ID = "d".repeat(32);
// every catalogue file, as a translator leaves it
const FILES = import.meta.glob<Record<string, string>>("./i18n/*.json", { eager: true, import: "default" });

function course(language: string | null): CourseDetail {
  return {
    id: ID, prompt: "Rust", level: null, size: null, status: "READY", title: "Rust-Besitz", description: null, language,
    objectives: ["Besitz erklären"], lessonCount: 2, lessonsGenerated: 1, usage: { promptTokens: 0, completionTokens: 0 }, error: null,
    attempts: 1, createdAt: "", updatedAt: "", version: 1, partialOutline: null, sourceIds: [],
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

  // words that are the same in that language (units, "Quiz", "Version", "Link", "code"): everything else is translated
  const SAME_EVERYWHERE = new Set([
    "time.minutes", "time.hours", "time.hoursMinutes", "quiz.region", "quiz.correct", "search.inModule", "course.quizScore",
    "versions.label", "versions.option", "versions.quoted", "compare.versionHeading", "share.link", "outline.module", "cards.heading",
    "code.label", // "code" in French too
    "sources.mb", "sources.kb", "sources.bytes", "sources.percent", // units
    // the same words in French: page(s), passage(s), Sources, Citations
    "sources.pagesOne", "sources.pagesOther", "sources.passagesOne", "sources.passagesOther", "sources.courseTitle", "cite.where", "cite.group",
  ]);

  it("translates every entry: none is an English copy", () => {
    for (const lang of LANGUAGES.filter((l) => l !== "en")) {
      const catalogue = FILES[`./i18n/${lang}.json`];
      const copies = Object.entries(en).filter(([key, text]) => catalogue[key] === text && !SAME_EVERYWHERE.has(key));
      expect(copies.map(([key]) => key), lang).toEqual([]);
    }
  });

  it("outside a course, picks the first of the browser's languages the app ships, English otherwise", () => {
    expect(browserLanguage(["de-AT", "en"])).toBe("de");
    expect(browserLanguage(["ja", "pt-BR", "en"])).toBe("pt");
    expect(browserLanguage(["hi-IN"])).toBe("hi");
    expect(browserLanguage(["ja", "ko"])).toBe("en");
    expect(browserLanguage([])).toBe("en");
    expect(browserLanguage(undefined)).toBe("en");
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
    // the rewrite form and the version switcher (issue 26: they were English)
    expect(screen.getByLabelText("Diese Lektion neu schreiben: Was soll sich ändern?")).toHaveAttribute(
      "placeholder",
      "Einfacher, mit einer Analogie; oder: Beispiele in Go",
    );
    expect(screen.getByRole("button", { name: "Lektion neu schreiben" })).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Versionen dieser Lektion" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Diese Version anzeigen" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Version 1 mit der aktuellen Version vergleichen" })).toBeEnabled(); // read from the API when opened
    expect(screen.getByRole("option", { name: /^Version 2 \(.*\): „Einfacher“ \(angezeigt\)$/ })).toBeInTheDocument();
  });
});

/** Every English text of the catalogue that German says otherwise, as it would appear on a screen:
 * placeholders split it into literal pieces; pieces of 4 characters or fewer are too short to tell. */
function englishPieces(): string[] {
  const de = FILES["./i18n/de.json"];
  const pieces = new Set<string>();
  for (const [key, text] of Object.entries(en)) {
    if (de[key] === text) continue;
    for (const piece of text.split(/\{\w+\}/)) {
      const trimmed = piece.replace(/^[\s:,.()“”]+|[\s:,.()“”]+$/g, "");
      if (trimmed.length > 4 && !Object.values(de).some((t) => t.includes(trimmed))) pieces.add(trimmed);
    }
  }
  return [...pieces];
}

/** What a screen shows and says: its text, and the names and hints in its attributes. */
function everythingSaid(root: HTMLElement): string {
  const attributes = [...root.querySelectorAll("*")].flatMap((element) =>
    ["aria-label", "placeholder", "title", "alt"].map((name) => element.getAttribute(name) ?? ""),
  );
  const options = [...root.querySelectorAll("option")].map((option) => option.textContent ?? "");
  return [root.textContent ?? "", ...attributes, ...options].join("\n");
}

describe("outside a course, a German browser", { timeout: 20_000 }, () => {
  beforeEach(() => {
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["de-DE", "de", "en"]);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function summary(id: string, title: string, over: Partial<CourseSummary> = {}): CourseSummary {
    const { modules: _m, partialOutline: _p, ...view } = course("German");
    return { ...view, id, title, prompt: title, lessonCount: 12, lessonsGenerated: 3, ...over };
  }

  it("My courses: German throughout, no English string of the catalogue on it", async () => {
    const items = [summary("a".repeat(32), "Rust-Besitz"), summary("b".repeat(32), "Statistik", { status: "GENERATING", lessonCount: 0, lessonsGenerated: 0 })];
    const api = {
      listCourses: vi.fn(async () => fetched({ items, nextCursor: "next" })),
      getProgressOverview: vi.fn(async () => fetched({ courses: [{ courseId: "a".repeat(32), completed: 3 }] })),
      dueCards: vi.fn(async () => fetched({ cards: [], due: 2 })),
    };
    const { container } = renderScreen(<Courses />, { path: "/", at: "/", api });
    expect(await screen.findByRole("heading", { name: "Meine Kurse" }, { timeout: 4000 })).toBeInTheDocument();
    await screen.findByText("2 Karten zur Wiederholung fällig.");
    expect(screen.getByRole("link", { name: "Neuer Kurs" })).toBeInTheDocument();
    expect(screen.getByText("25 % abgeschlossen")).toBeInTheDocument(); // Intl's percent spacing for German
    expect(screen.getByRole("button", { name: "Mehr anzeigen" })).toBeInTheDocument();
    expect(container.querySelector("main")).toHaveAttribute("lang", "de");
    const said = everythingSaid(container);
    const english = englishPieces().filter((piece) => said.includes(piece));
    expect(english).toEqual([]);
  });

  it("New course: the form, its hints and examples in German, no English string of the catalogue on it", async () => {
    const { container } = renderScreen(<NewCourse />, { path: "/new", at: "/new", api: {} });
    expect(await screen.findByRole("heading", { name: "Neuer Kurs" }, { timeout: 4000 })).toBeInTheDocument();
    expect(screen.getByLabelText("Was möchtest du lernen?")).toHaveAttribute("placeholder", "Ownership in Rust für C++-Programmierer");
    expect(screen.getByRole("button", { name: "Kurs erstellen" })).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe("Neuer Kurs · FlowGen"));
    const said = everythingSaid(container);
    expect(englishPieces().filter((piece) => said.includes(piece))).toEqual([]);
  });

  it("an English browser keeps the English names the browser tests find", async () => {
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["en-US", "en"]);
    renderScreen(<NewCourse />, { path: "/new", at: "/new", api: {} });
    expect(await screen.findByRole("heading", { name: "New course" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Create course" })).toBeInTheDocument();
  });
});
