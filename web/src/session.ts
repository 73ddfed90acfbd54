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
