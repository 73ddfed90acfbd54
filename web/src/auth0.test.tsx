import { render, screen } from "@testing-library/react";
import type { ReactNode } from "react";

// Auth0's SDK replaced by a stand-in that records how the provider is configured.
const provider = vi.hoisted(() => vi.fn());
vi.mock("@auth0/auth0-react", () => ({
  Auth0Provider: (props: Record<string, unknown> & { children: ReactNode }) => {
    provider(props);
    return <>{props.children}</>;
  },
  useAuth0: () => ({
    isAuthenticated: false, isLoading: false, user: undefined,
    loginWithRedirect: vi.fn(), logout: vi.fn(), getAccessTokenSilently: vi.fn(),
  }),
}));

import Auth0Root from "./auth0";

describe("signing in with Auth0", () => {
  it("rotates refresh tokens kept in localStorage, without the third-party-cookie iframe", () => {
    render(
      <Auth0Root domain="acme.eu.auth0.com" clientId="spa-client" audience="https://api.acme.dev">
        <p>signed-in app</p>
      </Auth0Root>,
    );
    expect(screen.getByText("signed-in app")).toBeInTheDocument();
    expect(provider).toHaveBeenCalledTimes(1);
    const props = provider.mock.calls[0][0];
    expect(props).toMatchObject({
      domain: "acme.eu.auth0.com",
      clientId: "spa-client",
      useRefreshTokens: true, // a reload refreshes with a rotated refresh token...
      cacheLocation: "localstorage", // ...kept where a reload finds it
      useRefreshTokensFallback: false, // never the hidden-iframe silent sign-in browsers block
      authorizationParams: { audience: "https://api.acme.dev", redirect_uri: window.location.origin },
    });
  });
});
