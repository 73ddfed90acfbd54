// What every screen does on arrival: name itself in the tab (document.title) and, after a
// navigation, move focus to its heading once, so a screen reader hears where it landed.
// A heading that re-renders (a lesson becoming ready) never pulls focus back.
import { useEffect } from "react";

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
