// Flashcards under spaced review (issue 23): the due list and a review. A review refreshes every
// due list and the progress (a course's mastery); the same review sends the same Idempotency-Key,
// so a retried POST never reviews twice.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReviewRating } from "../api/types";
import { useApi } from "../context";
import { keys } from "./keys";

export const DUE_PAGE = 50;

export function useDueCards(courseId?: string) {
  const api = useApi();
  return useQuery({
    queryKey: keys.dueCards(courseId),
    queryFn: () => api.dueCards(DUE_PAGE, courseId).then((r) => r.data),
    retry: false,
  });
}

export function useReviewCard() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ cardId, rating, key }: { cardId: string; rating: ReviewRating; key: string }) =>
      api.reviewCard(cardId, rating, key).then((r) => r.data),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.progress() });
    },
  });
}

/** Fetches the course's cards as a CSV to save as a file (nothing is cached). */
export function useDownloadCards(courseId: string, onSuccess: (file: { filename: string; csv: string }) => void) {
  const api = useApi();
  return useMutation({ mutationFn: () => api.exportCards(courseId), onSuccess });
}
