// "Make it yours" across signing in (issue 22): the shared course to fork is kept in this tab
// (sessionStorage, so it survives Auth0's redirect, which returns to the app's root), with the
// idempotency key of this one intent: however often it is sent, and from however many mounts, the
// API makes one copy. The signed-in app forks it on arrival (components/ForkAfterSignIn.tsx).
const KEY = "flowgen.fork-intent";

export interface ForkIntent {
  token: string;
  title: string;
  key: string;
}

export function keepForkIntent(token: string, title: string): ForkIntent {
  const intent = { token, title, key: crypto.randomUUID() };
  try {
    sessionStorage.setItem(KEY, JSON.stringify(intent));
  } catch {
    // storage refused: the fork is made if the app stays in this page's memory only
  }
  return intent;
}

export function forkIntent(): ForkIntent | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Partial<ForkIntent> | null;
    if (value && typeof value.token === "string" && typeof value.key === "string") {
      return { token: value.token, key: value.key, title: typeof value.title === "string" ? value.title : "" };
    }
  } catch {
    // nothing usable kept
  }
  return null;
}

export function clearForkIntent(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
}
