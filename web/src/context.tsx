import { createContext, useContext, useSyncExternalStore } from "react";
import type { FlowgenApi } from "./api/client";
import { Outbox, type Pending } from "./outbox";

export const ApiContext = createContext<FlowgenApi | null>(null);

export function useApi(): FlowgenApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside <ApiContext.Provider>");
  return api;
}

/** The signed-in user's outbox (what waits on this device to be sent, and drafts). */
export const OutboxContext = createContext<Outbox | null>(null);

// Outside a provider (a component rendered alone): an outbox of this page only.
let standalone: Outbox | null = null;

export function useOutbox(): Outbox {
  const outbox = useContext(OutboxContext);
  return outbox ?? (standalone ??= new Outbox("", null));
}

/** Everything waiting on this device, live. */
export function usePending(): Pending[] {
  const outbox = useOutbox();
  return useSyncExternalStore(outbox.subscribe, outbox.pending, outbox.pending);
}
