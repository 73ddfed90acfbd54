// Light or dark (issue 26): the system's setting (prefers-color-scheme) until the learner picks
// one with the toggle; the pick is kept on this device (localStorage) and set on <html
// data-theme> before the first paint (main.tsx), so theme.css applies it. Picking what the
// system has forgets the pick: the app follows the system again.
import { useCallback, useEffect, useState } from "react";
import { useT } from "./i18n";

export type Theme = "light" | "dark";
const KEY = "flowgen.theme";
const DARK = "(prefers-color-scheme: dark)";

export function storedTheme(): Theme | null {
  try {
    const value = localStorage.getItem(KEY);
    return value === "light" || value === "dark" ? value : null;
  } catch {
    return null;
  }
}

export function systemTheme(): Theme {
  return typeof matchMedia === "function" && matchMedia(DARK).matches ? "dark" : "light";
}

export function applyTheme(choice: Theme | null): void {
  if (choice) document.documentElement.dataset.theme = choice;
  else delete document.documentElement.dataset.theme;
}

export function useTheme(): { theme: Theme; toggle: () => void } {
  const [choice, setChoice] = useState<Theme | null>(storedTheme);
  const [system, setSystem] = useState<Theme>(systemTheme);
  useEffect(() => {
    if (typeof matchMedia !== "function") return;
    const query = matchMedia(DARK);
    const changed = () => setSystem(query.matches ? "dark" : "light");
    query.addEventListener?.("change", changed);
    return () => query.removeEventListener?.("change", changed);
  }, []);
  const theme = choice ?? system;
  const toggle = useCallback(() => {
    const next: Theme = theme === "dark" ? "light" : "dark";
    const kept = next === system ? null : next;
    try {
      if (kept) localStorage.setItem(KEY, kept);
      else localStorage.removeItem(KEY);
    } catch {
      // private mode: the pick lasts this page
    }
    applyTheme(kept);
    setChoice(kept);
  }, [theme, system]);
  return { theme, toggle };
}

/** The header's toggle: says what it does, and whether dark is on. */
export function ThemeToggle() {
  const { theme, toggle } = useTheme();
  const { t } = useT();
  return (
    <button type="button" className="link theme-toggle" aria-pressed={theme === "dark"} onClick={toggle}>
      {t("theme.dark")}
    </button>
  );
}
