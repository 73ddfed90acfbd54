// The shared screens' API (no token) in context: its own module, so the shared pages, loaded on
// demand, import it without importing each other.
import { createContext, useContext } from "react";
import type { SharedApi } from "./api/shared";

export const SharedApiContext = createContext<SharedApi | null>(null);

export function useSharedApi(): SharedApi {
  const api = useContext(SharedApiContext);
  if (!api) throw new Error("useSharedApi outside <SharedApiContext.Provider>");
  return api;
}

/** Query keys of the shared screens (their own client: nothing here mixes with a user's cache). */
export const sharedKeys = {
  course: (token: string) => ["shared", token] as const,
  lesson: (token: string, lessonId: string) => ["shared", token, "lesson", lessonId] as const,
};
