// Courses: the list, one course with its outline, and what changes them.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef } from "react";
import type { CourseDetail, CourseSummary, CreateCourse, OutlineEdit } from "../api/types";
import { useApi } from "../context";
import { courseFingerprint, coursePollDelay, listPollDelay } from "../polling";
import { keys } from "./keys";

/** My courses, a page at a time (newest first). */
export function useCourses() {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: keys.courses(),
    queryFn: ({ pageParam }) => api.listCourses(pageParam).then((r) => r.data),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
    // refreshes while any course's outline is being written, stops once all are settled
    refetchInterval: (q) => listPollDelay(q.state.data?.pages.flatMap((page) => page.items) ?? []),
  });
}

export function useCourse(courseId: string) {
  const api = useApi();
  const unchanged = useRef({ fingerprint: "", polls: 0 });
  return useQuery({
    queryKey: keys.course(courseId),
    queryFn: async () => {
      const { data } = await api.getCourse(courseId);
      const fingerprint = courseFingerprint(data);
      unchanged.current =
        fingerprint === unchanged.current.fingerprint
          ? { fingerprint, polls: unchanged.current.polls + 1 }
          : { fingerprint, polls: 0 };
      return data;
    },
    // every second while the outline is written; then slower while nothing changes; stops once
    // settled; react-query pauses hidden tabs
    refetchInterval: (query) => {
      const data = query.state.data as CourseDetail | undefined;
      return data ? coursePollDelay(data, unchanged.current.polls) : false;
    },
  });
}

/** The course as a lesson's page needs it (its place and module): read once, shared with the
 * course page's cache, never polled from here. */
export function useCourseOutline(courseId: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.course(courseId),
    queryFn: () => api.getCourse(courseId).then((r) => r.data),
    staleTime: 60_000,
    retry: false,
  });
}

/** Creates a course (the same idempotency key for the same intended course: one course however
 * often it is sent) and shows it at once, before its outline is written. */
export function useCreateCourse({ onSuccess }: { onSuccess?: (course: CourseSummary) => void } = {}) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: CreateCourse; idempotencyKey: string }) => api.createCourse(body, idempotencyKey),
    onSuccess: ({ data }) => {
      client.setQueryData<CourseDetail>(keys.course(data.id), { ...data, modules: [] });
      void client.invalidateQueries({ queryKey: keys.courses() });
      onSuccess?.(data);
    },
  });
}

export function useDeleteCourse(courseId: string) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.deleteCourse(courseId),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.courses() }),
  });
}

/** Writes a FAILED course's outline again. */
export function useRetryCourse(courseId: string) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.retryCourse(courseId),
    onSuccess: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: keys.course(courseId) }),
        client.invalidateQueries({ queryKey: keys.courses() }),
      ]),
  });
}

/** Saves an edit of the whole outline: the course as the API answers it, and its progress
 * (lessons removed or added change the counts) fetched again. */
export function useEditOutline(courseId: string, { onSuccess }: { onSuccess?: () => void } = {}) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (edit: OutlineEdit) => api.editOutline(courseId, edit),
    onSuccess: ({ data }) => {
      client.setQueryData<CourseDetail>(keys.course(courseId), data);
      void client.invalidateQueries({ queryKey: keys.courseProgress(courseId) });
      onSuccess?.();
    },
  });
}
