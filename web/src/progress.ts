// A learner's progress, from the API's progress routes (kept beside the content, by lesson id).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "./context";
import type { CourseProgress, LessonProgress, ProgressUpdate } from "./types";

export function useCourseProgress(courseId: string, enabled = true) {
  const api = useApi();
  return useQuery({
    queryKey: ["progress", courseId],
    queryFn: () => api.getCourseProgress(courseId).then((r) => r.data),
    enabled,
    retry: false,
  });
}

export function useProgressOverview() {
  const api = useApi();
  return useQuery({ queryKey: ["progress"], queryFn: () => api.getProgressOverview().then((r) => r.data) });
}

/** Records an update and folds the answer into the cached course progress at once. */
export function useRecordProgress(courseId: string, lessonId: string) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (update: ProgressUpdate) => api.putProgress(courseId, lessonId, update).then((r) => r.data),
    onSuccess: (saved: LessonProgress) => {
      client.setQueryData<CourseProgress>(["progress", courseId], (current) => (current ? merge(current, saved) : current));
      void client.invalidateQueries({ queryKey: ["progress"] });
    },
  });
}

function merge(current: CourseProgress, saved: LessonProgress): CourseProgress {
  const lessons = current.lessons.some((l) => l.lessonId === saved.lessonId)
    ? current.lessons.map((l) => (l.lessonId === saved.lessonId ? saved : l))
    : [...current.lessons, saved];
  return { ...current, lessons };
}

export function percentLabel(completed: number, total: number): string {
  return total ? `${Math.floor((completed * 100) / total)}% completed` : "not started";
}
