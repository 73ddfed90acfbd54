// Renders a screen as the app does (router, query client, the API in context) with a fake API.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import type { FlowgenApi } from "./api/client";
import { ApiContext, OutboxContext } from "./context";
import { Outbox } from "./outbox";
import { useOutboxSender } from "./queries/outbox";

export function fetched<T>(data: T, status = 200, retryAfter: number | null = null) {
  return { status, data, retryAfter };
}

function Sender({ onSessionEnded }: { onSessionEnded: () => void }) {
  useOutboxSender(onSessionEnded);
  return null;
}

/** `outbox`: what waits on this device (a fresh one, in memory, by default); `sender`: mount the
 * app's outbox sender too (the fake API then needs `onAnswer`). */
export function renderScreen(
  element: ReactElement,
  {
    path,
    at,
    api,
    outbox = new Outbox("test", null),
    sender = false,
    onSessionEnded = () => {},
  }: { path: string; at: string; api: Partial<FlowgenApi>; outbox?: Outbox; sender?: boolean; onSessionEnded?: () => void },
) {
  // no polling of its own in tests (each test refetches when it wants the next answer)
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });
  const view = render(
    <QueryClientProvider client={client}>
      <ApiContext.Provider value={api as FlowgenApi}>
        <OutboxContext.Provider value={outbox}>
          {sender && <Sender onSessionEnded={onSessionEnded} />}
          <MemoryRouter initialEntries={[at]}>
            <Routes>
              <Route path={path} element={element} />
            </Routes>
          </MemoryRouter>
        </OutboxContext.Provider>
      </ApiContext.Provider>
    </QueryClientProvider>,
  );
  return { ...view, client, outbox };
}

/** Refetches a family of queries (a key's first element in queries/keys.ts: "course", "lesson",
 * "questions"...) and lets react-query's batched notifications (a 0 ms timeout) reach the screen. */
export async function refetch(client: QueryClient, key: string): Promise<void> {
  await act(async () => {
    await client.refetchQueries({ queryKey: [key] });
    await new Promise((resolve) => setTimeout(resolve, 5));
  });
}
