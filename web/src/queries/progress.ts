// A learner's progress, from the API's progress routes (kept beside the content, by lesson id).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { CourseProgress, LessonProgress, ProgressUpdate } from "../api/types";
import { useApi } from "../context";
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

/** The course's progress with one lesson's as the API saved it (added if it had none). */
export function mergeProgress(current: CourseProgress, saved: LessonProgress): CourseProgress {
  const lessons = current.lessons.some((l) => l.lessonId === saved.lessonId)
    ? current.lessons.map((l) => (l.lessonId === saved.lessonId ? saved : l))
    : [...current.lessons, saved];
  return { ...current, lessons };
}
