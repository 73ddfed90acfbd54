// What every screen does on arrival: name itself in the tab (document.title) and, after a
// navigation, move focus to its heading once, so a screen reader hears where it landed.
// A heading that re-renders (a lesson becoming ready) never pulls focus back.
import { useCallback, useEffect, useMemo, useRef } from "react";

let focusPending = false;

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · FlowGen` : "FlowGen";
  }, [title]);
}

/** Called on each navigation: the next page heading to mount (or the one already there) gets focus. */
export function requestHeadingFocus(): void {
  focusPending = true;
  const heading = document.querySelector<HTMLElement>("main h1[tabindex]");
  if (heading) focusHeading(heading);
}

/** The ref of every page heading: focuses it when it mounts after a navigation, once. */
export function focusHeading(element: HTMLElement | null): void {
  if (element && focusPending) {
    focusPending = false;
    element.focus();
  }
}

/**
 * Focus for what replaces the control just used (a result after "Check my answers", a status
 * after "Show this version"): `request()` before the change, then the element given `ref` gets
 * focus when it mounts (key it by state so each state mounts its own), never the page's body.
 */
export function useFocusNext(): { request: () => void; ref: (element: HTMLElement | null) => void } {
  const pending = useRef(false);
  const request = useCallback(() => {
    pending.current = true;
  }, []);
  const ref = useCallback((element: HTMLElement | null) => {
    if (element && pending.current) {
      pending.current = false;
      element.focus();
    }
  }, []);
  return useMemo(() => ({ request, ref }), [request, ref]);
}
