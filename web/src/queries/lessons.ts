// Lessons: opening one (which asks for it to be written now), and writing it again.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Fetched } from "../api/client";
import type { Lesson } from "../api/types";
import { useApi } from "../context";
import { lessonPollDelay } from "../polling";
import { keys } from "./keys";

/** Opening is the signal: this GET promotes the lesson to high priority. While it is not
 * ready the API answers 202 with Retry-After, which the polling honours. While it is written,
 * every Retry-After (1 s): the finished blocks grow as polls arrive. */
export function useLesson(courseId: string, lessonId: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.lesson(courseId, lessonId),
    queryFn: () => api.openLesson(courseId, lessonId),
    refetchInterval: (query) => {
      const fetched = query.state.data;
      return fetched ? lessonPollDelay(fetched) : false;
    },
  });
}

/** One version of a lesson as written, to compare with the one shown (null: none asked for). A
 * version never changes once written, so it is fetched once per session. */
export function useLessonVersion(courseId: string, lessonId: string, version: number | null) {
  const api = useApi();
  return useQuery({
    queryKey: keys.lessonVersion(courseId, lessonId, version ?? 0),
    queryFn: () => api.lessonVersion(courseId, lessonId, version ?? 0),
    enabled: version !== null,
    staleTime: Infinity,
    select: (fetched) => fetched.data,
  });
}

/** Writes a FAILED lesson again; `shown` is what shows its state, so what is fetched again:
 * the course's outline (a row of it) or the lesson itself. */
export function useRetryLesson(courseId: string, lessonId: string, shown: "course" | "lesson") {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.retryLesson(courseId, lessonId),
    onSuccess: () =>
      client.invalidateQueries({ queryKey: shown === "course" ? keys.course(courseId) : keys.lesson(courseId, lessonId) }),
  });
}

/** A new version of the lesson, or an earlier one again: the lesson as the API answers it, and
 * the course (its lessons' status) fetched again. */
function useShowVersion(courseId: string, lessonId: string) {
  const client = useQueryClient();
  return (fetched: Fetched<Lesson>) => {
    client.setQueryData<Fetched<Lesson>>(keys.lesson(courseId, lessonId), fetched);
    void client.invalidateQueries({ queryKey: keys.course(courseId) });
  };
}

/** Writes the lesson again with an instruction; the current version is kept. */
export function useRegenerateLesson(courseId: string, lessonId: string, { onSuccess }: { onSuccess?: () => void } = {}) {
  const api = useApi();
  const show = useShowVersion(courseId, lessonId);
  return useMutation({
    mutationFn: ({ instruction, version }: { instruction: string; version?: number }) =>
      api.regenerateLesson(courseId, lessonId, instruction, version),
    onSuccess: (fetched) => {
      show(fetched);
      onSuccess?.();
    },
  });
}

/** Back to an earlier version; the one left is kept. */
export function useSelectLessonVersion(courseId: string, lessonId: string, { onSuccess }: { onSuccess?: () => void } = {}) {
  const api = useApi();
  const show = useShowVersion(courseId, lessonId);
  return useMutation({
    mutationFn: (version: number) => api.selectLessonVersion(courseId, lessonId, version),
    onSuccess: (fetched) => {
      show(fetched);
      onSuccess?.();
    },
  });
}
