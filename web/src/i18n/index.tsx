// The interface in the course's language (issue 26). Catalogues are JSON files beside this one, one
// per language (en, de, es, fr, hi, pt), each a flat map of key -> text with {name} placeholders:
// a translator edits a file, nothing else. English is in the first load; the others load when a
// course in their language is opened. A key a catalogue lacks falls back to English. Numbers and
// dates are formatted by Intl for the language. Outside a course (the list, a new course, sign-in,
// review, a shared link) the interface follows the browser's languages (navigator.languages, the
// first one the app ships, by its primary subtag: "de-AT" is German), English otherwise.
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
  /** `one` or `other` as the language's plural rules choose for `count` (given as {count}). */
  plural: (count: number, one: Key, other: Key, values?: Record<string, string | number>) => string;
}

function translator(lang: Lang, catalogue: Catalogue): Translator {
  const numbers = new Intl.NumberFormat(lang);
  const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const plurals = new Intl.PluralRules(lang);
  const number = (n: number) => numbers.format(n);
  const t: Translator["t"] = (key, values = {}) =>
    (catalogue[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = values[name];
      return value === undefined ? `{${name}}` : typeof value === "number" ? number(value) : value;
    });
  return {
    lang,
    number,
    date: (iso) => dates.format(new Date(iso)),
    t,
    plural: (count, one, other, values = {}) => t(plurals.select(count) === "one" ? one : other, { ...values, count }),
  };
}

/** The interface language outside a course: the first of the browser's languages the app ships. */
export function browserLanguage(languages: readonly string[] | undefined = globalThis.navigator?.languages): Lang {
  for (const tag of languages ?? []) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if ((LANGUAGES as readonly string[]).includes(primary)) return primary as Lang;
  }
  return "en";
}

const ENGLISH = translator("en", en);
export const ENGLISH_T = ENGLISH.t;
const LocaleContext = createContext<Translator>(ENGLISH);

/** The translator in force: the course's language inside a course, English elsewhere. */
export function useT(): Translator {
  return useContext(LocaleContext);
}

const loaded = new Map<Lang, Catalogue>([["en", en]]);

/** Inside a course: its language decides (English for one the app does not ship); a course whose
 * language is not known (none given, or not loaded yet) keeps the browser's. */
export function CourseLanguage({ language, children }: { language: string | null | undefined; children: ReactNode }) {
  return <Language lang={language ? languageOf(language) : browserLanguage()}>{children}</Language>;
}

/** Outside a course: the browser's language (see browserLanguage). */
export function InterfaceLanguage({ children }: { children: ReactNode }) {
  return <Language lang={browserLanguage()}>{children}</Language>;
}

/** Loads the catalogue (once) and provides it; English until it is in. */
function Language({ lang, children }: { lang: Lang; children: ReactNode }) {
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
