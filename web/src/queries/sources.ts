// A learner's sources (issue 24): the list, one source while it is ingested, and registering one.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import type { CreateSource, Source } from "../api/types";
import { useApi } from "../context";
import { nextPollDelay } from "../polling";
import { keys } from "./keys";

/** READY and FAILED are final: nothing changes after them. */
export function isSourceSettled(source: Pick<Source, "status">): boolean {
  return source.status === "READY" || source.status === "FAILED";
}

/** The caller's sources, newest first (read when shown; not polled). */
export function useSources(enabled = true) {
  const api = useApi();
  return useQuery({
    queryKey: keys.sources(),
    queryFn: () => api.listSources().then((r) => r.data),
    enabled,
    staleTime: 30_000,
  });
}

/** One source, polled while it is UPLOADING or INGESTING as the app polls elsewhere: the server's
 * Retry-After when it gives one, else the backoff (2 s, growing to 15 s); stops once settled. */
export function useSource(sourceId: string | null) {
  const api = useApi();
  return useQuery({
    queryKey: keys.source(sourceId ?? ""),
    queryFn: () => api.getSource(sourceId!),
    enabled: sourceId !== null,
    refetchInterval: (query) => {
      const fetched = query.state.data;
      if (!fetched) return false;
      return nextPollDelay(isSourceSettled(fetched.data), Math.max(0, query.state.dataUpdateCount - 1), fetched.retryAfter);
    },
  });
}

/** Registers a file: the source, UPLOADING, with its presigned POST form. */
export function useRegisterSource() {
  const api = useApi();
  return useMutation({ mutationFn: (body: CreateSource) => api.createSource(body).then((r) => r.data) });
}

/** The filenames of a course's sources by id (read only when the course has any). */
export function useSourceNames(sourceIds: readonly string[] | undefined): ReadonlyMap<string, string> {
  const list = useSources(Boolean(sourceIds?.length));
  const items = list.data?.items;
  return useMemo(() => new Map((items ?? []).map((source) => [source.id, source.filename])), [items]);
}
