import { Auth0Provider, useAuth0 } from "@auth0/auth0-react";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import type { AppConfig } from "./config";

interface Session {
  user: string | null;
  ready: boolean;
  signIn: (name?: string) => Promise<void>;
  signOut: () => void;
  token: () => Promise<string>;
  mode: AppConfig["auth"]["mode"];
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside <SessionProvider>");
  return session;
}

const STORAGE_KEY = "flowgen.local-session";

/** Local stack only: a user name exchanged for a token by the stack's identity provider. */
function LocalSession({ tokenUrl, children }: { tokenUrl: string; children: ReactNode }) {
  const [stored, setStored] = useState<{ user: string; token: string } | null>(() => {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? JSON.parse(raw) : null;
  });
  const signIn = useCallback(
    async (name?: string) => {
      const response = await fetch(tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sub: name }),
      });
      if (!response.ok) throw new Error("the local identity provider refused that name");
      const { token } = (await response.json()) as { token: string };
      const value = { user: name ?? "", token };
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
      setStored(value);
    },
    [tokenUrl],
  );
  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
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

function Auth0Session({ children }: { children: ReactNode }) {
  const { isAuthenticated, isLoading, user, loginWithRedirect, logout, getAccessTokenSilently } = useAuth0();
  const value = useMemo<Session>(
    () => ({
      user: isAuthenticated ? (user?.name ?? user?.email ?? "you") : null,
      ready: !isLoading,
      signIn: async () => { await loginWithRedirect(); },
      signOut: () => void logout({ logoutParams: { returnTo: window.location.origin } }),
      mode: "auth0",
      token: async () => (await getAccessTokenSilently()) ?? "",
    }),
    [isAuthenticated, isLoading, user, loginWithRedirect, logout, getAccessTokenSilently],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function SessionProvider({ config, children }: { config: AppConfig; children: ReactNode }) {
  const auth = config.auth;
  if (auth.mode === "local") return <LocalSession tokenUrl={auth.tokenUrl}>{children}</LocalSession>;
  return (
    <Auth0Provider
      domain={auth.domain}
      clientId={auth.clientId}
      authorizationParams={{ audience: auth.audience, redirect_uri: window.location.origin }}
      cacheLocation="memory"
    >
      <Auth0Session>{children}</Auth0Session>
    </Auth0Provider>
  );
}
