// The interface in the course's language (issue 26). Catalogues are JSON files beside this one, one
// per language (en, de, es, fr, hi, pt), each a flat map of key -> text with {name} placeholders:
// a translator edits a file, nothing else. English is in the first load; the others load when a
// course in their language is opened. A key a catalogue lacks falls back to English. Numbers and
// dates are formatted by Intl for the language. Outside a course (the list, sign-in) the app stays
// in English.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import en from "./en.json";

export type Key = keyof typeof en;
type Catalogue = Partial<Record<Key, string>>;
export const LANGUAGES = ["en", "de", "es", "fr", "hi", "pt"] as const;
export type Lang = (typeof LANGUAGES)[number];

const others = import.meta.glob<{ default: Catalogue }>(["./*.json", "!./en.json"]);

// how learners name a language when they create a course (any case; a region in parentheses is ignored)
const NAMES: Record<string, Lang> = {
  english: "en", en: "en", inglés: "en",
  german: "de", deutsch: "de", de: "de", alemán: "de", allemand: "de",
  spanish: "es", español: "es", espanol: "es", castellano: "es", es: "es",
  french: "fr", français: "fr", francais: "fr", fr: "fr",
  hindi: "hi", हिन्दी: "hi", हिंदी: "hi", hi: "hi",
  portuguese: "pt", português: "pt", portugues: "pt", pt: "pt",
};

/** The interface language for a course's language as the learner named it; English otherwise. */
export function languageOf(name: string | null | undefined): Lang {
  const plain = (name ?? "").toLowerCase().replace(/\(.*\)/, "").trim();
  return NAMES[plain] ?? "en";
}

export interface Translator {
  lang: Lang;
  t: (key: Key, values?: Record<string, string | number>) => string;
  number: (n: number) => string;
  date: (iso: string) => string;
}

function translator(lang: Lang, catalogue: Catalogue): Translator {
  const numbers = new Intl.NumberFormat(lang);
  const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const number = (n: number) => numbers.format(n);
  return {
    lang,
    number,
    date: (iso) => dates.format(new Date(iso)),
    t: (key, values = {}) =>
      (catalogue[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (_, name: string) => {
        const value = values[name];
        return value === undefined ? `{${name}}` : typeof value === "number" ? number(value) : value;
      }),
  };
}

const ENGLISH = translator("en", en);
export const ENGLISH_T = ENGLISH.t;
const LocaleContext = createContext<Translator>(ENGLISH);

/** The translator in force: the course's language inside a course, English elsewhere. */
export function useT(): Translator {
  return useContext(LocaleContext);
}

const loaded = new Map<Lang, Catalogue>([["en", en]]);

/** Loads the catalogue (once) and provides it; English until it is in. */
export function CourseLanguage({ language, children }: { language: string | null | undefined; children: ReactNode }) {
  const lang = languageOf(language);
  const [catalogue, setCatalogue] = useState<Catalogue | null>(() => loaded.get(lang) ?? null);
  useEffect(() => {
    if (loaded.has(lang)) {
      setCatalogue(loaded.get(lang)!);
      return;
    }
    let live = true;
    const load = others[`./${lang}.json`];
    void load?.().then((module) => {
      loaded.set(lang, module.default);
      if (live) setCatalogue(module.default);
    });
    return () => {
      live = false;
    };
  }, [lang]);
  const value = useMemo(() => (catalogue ? translator(lang, catalogue) : ENGLISH), [lang, catalogue]);
  return <LocaleContext.Provider value={value}>{children}</LocaleContext.Provider>;
}
