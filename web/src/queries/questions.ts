// Questions about a lesson: the thread, and asking one.
import { useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { Fetched } from "../api/client";
import type { QuestionThread, QuestionView } from "../api/types";
import { useApi, useOutbox } from "../context";
import { draftKey, isNetworkFailure, isOffline, isSessionEnded } from "../outbox";
import { questionsPollDelay } from "../polling";
import { keys } from "./keys";

/** The thread, oldest first. Polls only while a question waits for its answer, honouring Retry-After. */
export function useQuestions(courseId: string, lessonId: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.questions(courseId, lessonId),
    queryFn: () => api.listQuestions(courseId, lessonId),
    refetchInterval: (query) => (query.state.data ? questionsPollDelay(query.state.data) : false),
  });
}

/** A question the API took joins the cached thread at once (the API's thread holds it too). */
export function showAsked(client: QueryClient, courseId: string, lessonId: string, asked: QuestionView): void {
  const key = keys.questions(courseId, lessonId);
  client.setQueryData<Fetched<QuestionThread>>(key, (old) =>
    old && !old.data.items.some((q) => q.id === asked.id)
      ? { ...old, data: { ...old.data, items: [...old.data.items, asked] } }
      : old,
  );
  void client.invalidateQueries({ queryKey: key });
}

/** What asking gave: the question as the API took it, or kept on this device to send later. */
export type AskOutcome = { asked: QuestionView } | { kept: true };

/** Asks. Offline, or when the call fails for network reasons or because the session ended, the
 * question is kept on this device (the outbox) and sent later, never lost. */
export function useAskQuestion(
  courseId: string,
  lessonId: string,
  { onSuccess, onError }: { onSuccess?: (outcome: AskOutcome) => void; onError?: (error: Error) => void } = {},
) {
  const api = useApi();
  const outbox = useOutbox();
  const client = useQueryClient();
  return useMutation({
    networkMode: "always", // never paused: offline it is kept on this device, said at once
    mutationFn: async (question: string): Promise<AskOutcome> => {
      const keep = (): AskOutcome => {
        outbox.keep({ kind: "question", courseId, lessonId, question });
        outbox.setDraft(draftKey(courseId, lessonId, "question"), null);
        return { kept: true };
      };
      if (isOffline()) return keep();
      try {
        return { asked: (await api.askQuestion(courseId, lessonId, question)).data };
      } catch (error) {
        if (isNetworkFailure(error)) return keep();
        if (isSessionEnded(error)) keep(); // and on to sign in again: sent once signed in
        throw error;
      }
    },
    onSuccess: (outcome) => {
      outbox.setDraft(draftKey(courseId, lessonId, "question"), null);
      if ("asked" in outcome) showAsked(client, courseId, lessonId, outcome.asked);
      onSuccess?.(outcome);
    },
    onError,
  });
}
