// A learner's progress, from the API's progress routes (kept beside the content, by lesson id).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { CourseProgress, LessonProgress, ProgressUpdate, QuizResult } from "../api/types";
import { useApi, useOutbox } from "../context";
import { draftKey, isNetworkFailure, isOffline, isSessionEnded } from "../outbox";
import { keys } from "./keys";

export function useCourseProgress(courseId: string, enabled = true) {
  const api = useApi();
  return useQuery({
    queryKey: keys.courseProgress(courseId),
    queryFn: () => api.getCourseProgress(courseId).then((r) => r.data),
    enabled,
    retry: false,
  });
}

export function useProgressOverview() {
  const api = useApi();
  return useQuery({ queryKey: keys.progressOverview(), queryFn: () => api.getProgressOverview().then((r) => r.data) });
}

/** Records an update and folds the answer into the cached course progress at once. */
export function useRecordProgress(courseId: string, lessonId: string) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (update: ProgressUpdate) => api.putProgress(courseId, lessonId, update).then((r) => r.data),
    onSuccess: (saved: LessonProgress) => {
      client.setQueryData<CourseProgress>(keys.courseProgress(courseId), (current) => (current ? mergeProgress(current, saved) : current));
      void client.invalidateQueries({ queryKey: keys.progress() });
    },
  });
}

/** What checking a quiz gave: the API's result, or the answers kept on this device to send later
 * (offline, the network failed, or the session ended). */
export type QuizOutcome = { result: QuizResult; saved: LessonProgress } | { kept: true };

/**
 * Sends a quiz's answers to be graded (`reveal`: the solution too, before passing). Offline, or
 * when the call fails for network reasons or because the session ended, the answers are kept on
 * this device (the outbox) and sent later, never lost; a refusal (400, 404, 409) is thrown.
 */
export function useSubmitQuiz(courseId: string, lessonId: string) {
  const api = useApi();
  const outbox = useOutbox();
  const client = useQueryClient();
  return useMutation({
    networkMode: "always", // never paused: offline it is kept on this device, said at once
    mutationFn: async ({ answers, reveal }: { answers: (number | null)[]; reveal: boolean }): Promise<QuizOutcome> => {
      const keep = (): QuizOutcome => {
        outbox.keep({ kind: "quiz", courseId, lessonId, answers, reveal });
        outbox.setDraft(draftKey(courseId, lessonId, "quiz"), null);
        return { kept: true };
      };
      if (isOffline()) return keep();
      try {
        const { data } = await api.putProgress(courseId, lessonId, { quiz: { answers, reveal } });
        return { result: data.quiz as QuizResult, saved: data };
      } catch (error) {
        if (isNetworkFailure(error)) return keep();
        if (isSessionEnded(error)) keep(); // and on to sign in again: sent once signed in
        throw error;
      }
    },
    onSuccess: (outcome) => {
      if (!("result" in outcome)) return;
      outbox.setDraft(draftKey(courseId, lessonId, "quiz"), null);
      for (const p of outbox.pending()) if (p.kind === "quiz" && p.courseId === courseId && p.lessonId === lessonId) outbox.remove(p);
      client.setQueryData<CourseProgress>(keys.courseProgress(courseId), (current) => (current ? mergeProgress(current, outcome.saved) : current));
      void client.invalidateQueries({ queryKey: keys.progress() });
    },
  });
}

/** The course's progress with one lesson's as the API saved it (added if it had none). */
export function mergeProgress(current: CourseProgress, saved: LessonProgress): CourseProgress {
  const lessons = current.lessons.some((l) => l.lessonId === saved.lessonId)
    ? current.lessons.map((l) => (l.lessonId === saved.lessonId ? saved : l))
    : [...current.lessons, saved];
  return { ...current, lessons };
}
