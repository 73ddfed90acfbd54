// Questions about a lesson: the thread, and asking one.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Fetched } from "../api/client";
import type { QuestionThread } from "../api/types";
import { useApi } from "../context";
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

/** Asks; the question joins the cached thread at once (the API's thread holds it too). */
export function useAskQuestion(
  courseId: string,
  lessonId: string,
  { onSuccess, onError }: { onSuccess?: () => void; onError?: (error: Error) => void } = {},
) {
  const api = useApi();
  const client = useQueryClient();
  const key = keys.questions(courseId, lessonId);
  return useMutation({
    mutationFn: (question: string) => api.askQuestion(courseId, lessonId, question),
    onSuccess: ({ data }) => {
      onSuccess?.();
      client.setQueryData<Fetched<QuestionThread>>(key, (old) =>
        old && !old.data.items.some((q) => q.id === data.id)
          ? { ...old, data: { ...old.data, items: [...old.data.items, data] } }
          : old,
      );
      void client.invalidateQueries({ queryKey: key });
    },
    onError,
  });
}
