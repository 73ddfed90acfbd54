import type { ReactNode } from "react";
import { focusHeading } from "../screen";

/** The screen's h1: focusable from script only, focused after a navigation (see screen.ts). */
export function PageHeading({ children }: { children: ReactNode }) {
  return (
    <h1 ref={focusHeading} tabIndex={-1}>
      {children}
    </h1>
  );
}
