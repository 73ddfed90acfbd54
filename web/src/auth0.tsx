import { Auth0Provider, useAuth0 } from "@auth0/auth0-react";
import { useMemo, type ReactNode } from "react";
import { SessionContext, type Session } from "./session";

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

interface Auth0Props {
  domain: string;
  clientId: string;
  audience: string;
  children: ReactNode;
}

/**
 * Loaded on demand (React.lazy) by SessionProvider when the config says Auth0.
 *
 * Sessions survive a reload without third-party cookies (issue 21): refresh-token rotation
 * (`useRefreshTokens`; the SDK asks for `offline_access`), the tokens kept in localStorage so a
 * reload finds them, and no fallback to the hidden-iframe silent sign-in that browsers blocking
 * third-party cookies refuse (`useRefreshTokensFallback: false`): a refresh that fails means
 * signing in again, said as such (api/client.ts maps it to a 401). The Auth0 application must
 * allow refresh-token rotation.
 */
export default function Auth0Root({ domain, clientId, audience, children }: Auth0Props) {
  return (
    <Auth0Provider
      domain={domain}
      clientId={clientId}
      authorizationParams={{ audience, redirect_uri: window.location.origin }}
      useRefreshTokens
      useRefreshTokensFallback={false}
      cacheLocation="localstorage"
    >
      <Auth0Session>{children}</Auth0Session>
    </Auth0Provider>
  );
}
