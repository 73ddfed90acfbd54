// Who is signed in, as every part of the app sees it: the context both ways of signing in
// provide (auth.tsx for the local stack, auth0.tsx for Auth0) and the hook that reads it.
// Both of them import this module, never each other's: auth.tsx only lazy-loads auth0.tsx.
import { createContext, useContext } from "react";
import type { AppConfig } from "./config";

export interface Session {
  user: string | null;
  ready: boolean;
  signIn: (name?: string) => Promise<void>;
  signOut: () => void;
  token: () => Promise<string>;
  mode: AppConfig["auth"]["mode"];
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside <SessionProvider>");
  return session;
}

// Why the sign-in screen shows: the session ended (a 401) rather than a sign-out, who was signed
// in, and whether what they sent is kept for later. Kept in sessionStorage, so it survives
// Auth0's redirects in this tab; cleared once signed in.
const ENDED_KEY = "flowgen.session-ended";

export interface EndedSession {
  user: string;
  /** What the learner sent is kept on this device, to send once signed in again. */
  kept: boolean;
}

export function markSessionEnded(ended: EndedSession): void {
  try {
    sessionStorage.setItem(ENDED_KEY, JSON.stringify(ended));
  } catch {
    // storage refused: the sign-in screen says nothing more
  }
}

export function sessionEnded(): EndedSession | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(ENDED_KEY) ?? "null") as Partial<EndedSession> | null;
    return value && typeof value === "object" ? { user: String(value.user ?? ""), kept: value.kept === true } : null;
  } catch {
    return null;
  }
}

export function clearSessionEnded(): void {
  try {
    sessionStorage.removeItem(ENDED_KEY);
  } catch {
    // nothing kept
  }
}
