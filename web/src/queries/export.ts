// A course as one Markdown file: for the print view, and as a download.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useApi } from "../context";
import { keys } from "./keys";

/** The export for the print view, fetched fresh each time it is shown. */
export function useCourseExport(courseId: string) {
  const api = useApi();
  return useQuery({ queryKey: keys.export(courseId), queryFn: () => api.exportCourse(courseId), staleTime: 0 });
}

/** Fetches the export to save it as a file (nothing is cached). */
export function useDownloadExport(
  courseId: string,
  { onSuccess }: { onSuccess?: (file: { filename: string; markdown: string }) => void } = {},
) {
  const api = useApi();
  return useMutation({ mutationFn: () => api.exportCourse(courseId), onSuccess });
}
