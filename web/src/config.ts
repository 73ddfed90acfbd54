// Runtime configuration, fetched at start so one build serves every environment:
// the local stack serves /config.json itself; in AWS it is uploaded next to the app.
//
// Only on loopback (the local stack, `npm run dev`) may a missing config mean the local stack's
// sign-in: anywhere else a missing or broken config.json is an error page, never a sign-in that
// hands out tokens to any name (issue 21).
export type AuthConfig =
  | { mode: "local"; tokenUrl: string }
  | { mode: "auth0"; domain: string; clientId: string; audience: string };

export interface AppConfig {
  apiUrl: string;
  auth: AuthConfig;
}

export const NOT_CONFIGURED = "This FlowGen site is not configured: config.json is missing or invalid.";

/** The app cannot start: what the error page says, and why (for the console). */
export class ConfigError extends Error {}

const LOCAL_DEFAULT: AppConfig = { apiUrl: "", auth: { mode: "local", tokenUrl: "/_local/token" } };

/** This machine only: localhost (and its subdomains), 127.0.0.0/8, [::1]. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127(?:\.\d{1,3}){3}$/.test(host) ||
    host === "[::1]" ||
    host === "::1"
  );
}

function text(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/** The config as the app needs it, or why not (a field missing or of the wrong type). */
export function parseConfig(value: unknown): AppConfig {
  const config = value as Partial<AppConfig> | null;
  if (!config || typeof config !== "object") throw new ConfigError("config.json is not a JSON object");
  if (typeof config.apiUrl !== "string") throw new ConfigError("config.json: apiUrl must be a string");
  const auth = config.auth as Record<string, unknown> | undefined;
  if (auth?.mode === "local" && text(auth.tokenUrl)) return { apiUrl: config.apiUrl, auth: { mode: "local", tokenUrl: auth.tokenUrl } };
  if (auth?.mode === "auth0" && text(auth.domain) && text(auth.clientId) && text(auth.audience)) {
    return { apiUrl: config.apiUrl, auth: { mode: "auth0", domain: auth.domain, clientId: auth.clientId, audience: auth.audience } };
  }
  throw new ConfigError("config.json: auth must be {mode: 'auth0', domain, clientId, audience} or {mode: 'local', tokenUrl}");
}

/** The runtime config; on loopback a missing one is the local stack's. Throws ConfigError elsewhere. */
export async function loadConfig(hostname: string = window.location.hostname): Promise<AppConfig> {
  let problem: string;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) return parseConfig(await response.json());
    problem = `config.json: ${response.status} ${response.statusText}`.trim();
  } catch (error) {
    problem = error instanceof ConfigError ? error.message : `config.json could not be read (${(error as Error).message})`;
  }
  if (isLoopback(hostname)) return LOCAL_DEFAULT;
  throw new ConfigError(problem);
}
