// Runtime configuration, fetched at start so one build serves every environment:
// the local stack serves /config.json itself; in AWS it is uploaded next to the app.
export type AuthConfig =
  | { mode: "local"; tokenUrl: string }
  | { mode: "auth0"; domain: string; clientId: string; audience: string };

export interface AppConfig {
  apiUrl: string;
  auth: AuthConfig;
}

const LOCAL_DEFAULT: AppConfig = { apiUrl: "", auth: { mode: "local", tokenUrl: "/_local/token" } };

export async function loadConfig(): Promise<AppConfig> {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) return (await response.json()) as AppConfig;
  } catch {
    // fall through to the local default
  }
  return LOCAL_DEFAULT;
}
