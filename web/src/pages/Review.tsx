// The review screen (issue 23): the learner's due flashcards, one at a time. Space (or the button)
// shows the answer; 1-4 (or the buttons) rate it again, hard, good or easy; what is left is said
// in words. Keyboard only and screen-reader friendly: the card is a labelled region, the answer
// is announced when shown, each rating says what it did and what comes next.
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type { ReviewCard, ReviewRating } from "../api/types";
import { PageHeading } from "../components/Heading";
import { ErrorNotice } from "../components/Status";
import { useDueCards, useReviewCard } from "../queries/reviews";
import { useTitle } from "../screen";

const RATINGS: { rating: ReviewRating; key: string; label: string }[] = [
  { rating: "again", key: "1", label: "Again" },
  { rating: "hard", key: "2", label: "Hard" },
  { rating: "good", key: "3", label: "Good" },
  { rating: "easy", key: "4", label: "Easy" },
];

/** "in 10 minutes", "in 3 days": when a card is due next, in words. */
export function dueIn(due: string, now: number = Date.now()): string {
  const minutes = Math.max(0, Math.round((new Date(due).getTime() - now) / 60_000));
  if (minutes < 1) return "now";
  if (minutes < 60) return `in ${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `in ${hours} hour${hours === 1 ? "" : "s"}`;
  const days = Math.round(hours / 24);
  return `in ${days} day${days === 1 ? "" : "s"}`;
}

function left(count: number): string {
  return count === 1 ? "1 card left" : `${count} cards left`;
}

export function Review() {
  const [params] = useSearchParams();
  const courseId = params.get("course") ?? undefined;
  const due = useDueCards(courseId);
  const review = useReviewCard();
  const [queue, setQueue] = useState<ReviewCard[] | null>(null);
  const [total, setTotal] = useState(0);
  const [done, setDone] = useState(0);
  const [flipped, setFlipped] = useState(false);
  const [said, setSaid] = useState("");
  const card = queue?.[0];
  const heading = useRef<HTMLHeadingElement>(null);
  useTitle("Review");

  // the session's cards: taken once, so a card rated "again" comes back in the next session
  useEffect(() => {
    if (due.data && queue === null) {
      setQueue(due.data.cards);
      setTotal(due.data.due);
    }
  }, [due.data, queue]);

  const flip = useCallback(() => {
    if (!card || flipped) return;
    setFlipped(true);
    setSaid(`Answer: ${card.back}`);
  }, [card, flipped]);

  const rate = useCallback(
    (rating: ReviewRating) => {
      if (!card || !flipped || review.isPending) return;
      review.mutate(
        { cardId: card.id, rating, key: `${card.id}-${card.reps}` },
        {
          onSuccess: (after) => {
            const remaining = Math.max(0, total - done - 1);
            setDone((n) => n + 1);
            setQueue((cards) => (cards ?? []).slice(1));
            setFlipped(false);
            setSaid(`Rated ${rating}: next review ${dueIn(after.due)}. ${left(remaining)}.`);
            heading.current?.focus();
          },
        },
      );
    },
    [card, flipped, review, total, done],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target as HTMLElement | null;
      if (target && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
      if (event.key === " " && !flipped) {
        event.preventDefault(); // Space flips, whatever has focus (a focused button would click itself)
        flip();
        return;
      }
      const choice = RATINGS.find((r) => r.key === event.key);
      if (choice && flipped) {
        event.preventDefault();
        rate(choice.rating);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [flip, rate, flipped]);

  const remaining = Math.max(0, total - done);
  return (
    <main id="main" className="review">
      <PageHeading>Review</PageHeading>
      <p className="review-count" aria-live="off">
        {queue === null ? "" : left(remaining)}
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {said}
      </p>
      {due.error && <ErrorNotice error={due.error} />}
      {review.error && <ErrorNotice error={review.error} />}
      {due.isPending ? (
        <p>Loading…</p>
      ) : !card ? (
        <section aria-labelledby="review-done">
          <h2 id="review-done" ref={heading} tabIndex={-1}>
            {done ? "All done for now" : "Nothing to review"}
          </h2>
          <p>
            {done ? `You reviewed ${done} card${done === 1 ? "" : "s"}.` : "No card is due."}{" "}
            {remaining > 0 ? `${left(remaining)} (more are due than one session shows): ` : ""}
            <Link to="/">Back to my courses</Link>
          </p>
        </section>
      ) : (
        <section className="flashcard" aria-labelledby="card-front" aria-describedby="review-keys">
          <h2 id="card-front" ref={heading} tabIndex={-1}>
            <span className="visually-hidden">Question: </span>
            {card.front}
          </h2>
          {flipped ? (
            <div className="flashcard-back">
              <p id="card-back">
                <span className="visually-hidden">Answer: </span>
                {card.back}
              </p>
              <div className="rating-buttons" role="group" aria-label="How well did you remember it?">
                {RATINGS.map(({ rating, key, label }) => (
                  <button
                    key={rating}
                    type="button"
                    onClick={() => rate(rating)}
                    disabled={review.isPending}
                    aria-keyshortcuts={key}
                  >
                    {label} <kbd aria-hidden="true">{key}</kbd>
                  </button>
                ))}
              </div>
            </div>
          ) : (
            <button type="button" onClick={flip} aria-keyshortcuts="Space">
              Show answer <kbd aria-hidden="true">Space</kbd>
            </button>
          )}
          <p id="review-keys" className="hint">
            Space shows the answer; then 1 again, 2 hard, 3 good, 4 easy.
          </p>
        </section>
      )}
    </main>
  );
}
