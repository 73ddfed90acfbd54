import { lazy, Suspense, useCallback, useMemo, useState, type ReactNode } from "react";
import type { AppConfig } from "./config";
import { SessionContext, type Session } from "./session";

// Auth0's SDK loads only where Auth0 signs people in: the local stack's first load goes without it.
const Auth0Session = lazy(() => import("./auth0"));

const STORAGE_KEY = "flowgen.local-session";

/** Local stack only: a user name exchanged for a token by the stack's identity provider. Kept in
 * localStorage, so every tab of this browser is signed in (an expired token ends the session as
 * anywhere: the app asks to sign in again). */
function LocalSession({ tokenUrl, children }: { tokenUrl: string; children: ReactNode }) {
  const [stored, setStored] = useState<{ user: string; token: string } | null>(() => {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? JSON.parse(raw) : null;
  });
  const signIn = useCallback(
    async (name?: string) => {
      const response = await fetch(tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sub: name }),
      });
      if (!response.ok) throw new Error("That name was refused: use 1 to 64 letters, digits or . _ @ | - (no spaces).");
      const { token } = (await response.json()) as { token: string };
      const value = { user: name ?? "", token };
      localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
      setStored(value);
    },
    [tokenUrl],
  );
  const signOut = useCallback(() => {
    localStorage.removeItem(STORAGE_KEY);
    setStored(null);
  }, []);
  const value = useMemo<Session>(
    () => ({
      user: stored?.user ?? null,
      ready: true,
      signIn,
      signOut,
      mode: "local",
      token: async () => stored?.token ?? "",
    }),
    [stored, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function SessionProvider({ config, children }: { config: AppConfig; children: ReactNode }) {
  const auth = config.auth;
  if (auth.mode === "local") return <LocalSession tokenUrl={auth.tokenUrl}>{children}</LocalSession>;
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <Auth0Session domain={auth.domain} clientId={auth.clientId} audience={auth.audience}>
        {children}
      </Auth0Session>
    </Suspense>
  );
}
