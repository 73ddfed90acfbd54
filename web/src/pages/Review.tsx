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
import { ENGLISH_T, InterfaceLanguage, useT, type Key, type Lang, type Translator } from "../i18n";

const RATINGS: { rating: ReviewRating; key: string; label: Key; rated: Key }[] = [
  { rating: "again", key: "1", label: "review.again", rated: "review.ratedAgain" },
  { rating: "hard", key: "2", label: "review.hard", rated: "review.ratedHard" },
  { rating: "good", key: "3", label: "review.good", rated: "review.ratedGood" },
  { rating: "easy", key: "4", label: "review.easy", rated: "review.ratedEasy" },
];

/** "in 10 minutes", "in 3 days": when a card is due next, in words (Intl, in the language shown). */
export function dueIn(due: string, now: number = Date.now(), lang: Lang = "en", t: Translator["t"] = ENGLISH_T): string {
  const minutes = Math.max(0, Math.round((new Date(due).getTime() - now) / 60_000));
  if (minutes < 1) return t("time.now");
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "always" });
  if (minutes < 60) return relative.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 24) return relative.format(hours, "hour");
  return relative.format(Math.round(hours / 24), "day");
}

function left(count: number, plural: Translator["plural"]): string {
  return plural(count, "review.leftOne", "review.leftOther");
}

/** Reviewing flashcards, in the browser's language (cards of several courses may be due). */
export function Review() {
  return (
    <InterfaceLanguage>
      <ReviewScreen />
    </InterfaceLanguage>
  );
}

function ReviewScreen() {
  const { t, lang, plural } = useT();
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
  useTitle(t("review.title"));

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
    setSaid(`${t("review.answer")} ${card.back}`);
  }, [card, flipped, t]);

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
            const rated = RATINGS.find((r) => r.rating === rating)!.rated;
            setSaid(t("review.rated", { rated: t(rated), when: dueIn(after.due, Date.now(), lang, t), left: left(remaining, plural) }));
            heading.current?.focus();
          },
        },
      );
    },
    [card, flipped, review, total, done, t, lang, plural],
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
    <main id="main" className="review" lang={lang}>
      <PageHeading>{t("review.title")}</PageHeading>
      <p className="review-count" aria-live="off">
        {queue === null ? "" : left(remaining, plural)}
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {said}
      </p>
      {due.error && <ErrorNotice error={due.error} />}
      {review.error && <ErrorNotice error={review.error} />}
      {due.isPending ? (
        <p>{t("common.loading")}</p>
      ) : !card ? (
        <section aria-labelledby="review-done">
          <h2 id="review-done" ref={heading} tabIndex={-1}>
            {done ? t("review.allDone") : t("review.nothing")}
          </h2>
          <p>
            {done ? plural(done, "review.reviewedOne", "review.reviewedOther") : t("review.noneDue")}{" "}
            {remaining > 0 ? `${t("review.more", { left: left(remaining, plural) })} ` : ""}
            <Link to="/">{t("notFound.myCourses")}</Link>
          </p>
        </section>
      ) : (
        <section className="flashcard" aria-labelledby="card-front" aria-describedby="review-keys">
          <h2 id="card-front" ref={heading} tabIndex={-1}>
            <span className="visually-hidden">{t("review.question")} </span>
            {card.front}
          </h2>
          {flipped ? (
            <div className="flashcard-back">
              <p id="card-back">
                <span className="visually-hidden">{t("review.answer")} </span>
                {card.back}
              </p>
              <div className="rating-buttons" role="group" aria-label={t("review.how")}>
                {RATINGS.map(({ rating, key, label }) => (
                  <button
                    key={rating}
                    type="button"
                    onClick={() => rate(rating)}
                    disabled={review.isPending}
                    aria-keyshortcuts={key}
                  >
                    {t(label)} <kbd aria-hidden="true">{key}</kbd>
                  </button>
                ))}
              </div>
            </div>
          ) : (
            <button type="button" onClick={flip} aria-keyshortcuts="Space">
              {t("review.show")} <kbd aria-hidden="true">{t("review.space")}</kbd>
            </button>
          )}
          <p id="review-keys" className="hint">
            {t("review.keys")}
          </p>
        </section>
      )}
    </main>
  );
}
