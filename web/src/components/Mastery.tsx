// Flashcards in the course list and the course page (issue 23): how many cards are due, and a
// course's mastery (cards learned, due now, the next review), with the way to review them and to
// take them to Anki.
import { Link } from "react-router-dom";
import type { CourseDetail, CourseMastery } from "../api/types";
import { dueIn } from "../pages/Review";
import { useDownloadCards, useDueCards } from "../queries/reviews";
import { ErrorNotice } from "./Status";

function cards(count: number): string {
  return count === 1 ? "1 card" : `${count} cards`;
}

/** My courses: how many cards are due across every course, and where to review them. */
export function DueBanner() {
  const due = useDueCards();
  const count = due.data?.due ?? 0;
  if (!count) return null;
  return (
    <p className="notice due-cards">
      {cards(count)} due for review. <Link to="/review">Review now</Link>
    </p>
  );
}

function save(filename: string, csv: string) {
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A course's flashcards: learned of all, due now, the next review; review them, export them. */
export function Mastery({ course, mastery }: { course: CourseDetail; mastery: CourseMastery | null | undefined }) {
  const download = useDownloadCards(course.id, ({ filename, csv }) => save(filename, csv));
  if (!mastery || mastery.cards === 0) return null;
  const next = mastery.nextDueAt ? dueIn(mastery.nextDueAt) : null;
  return (
    <section className="mastery" aria-labelledby="mastery-heading">
      <h2 id="mastery-heading">Flashcards</h2>
      <p className="progress-line">
        <progress max={mastery.cards} value={mastery.learned} aria-label="Flashcards learned" />
        <span>
          {mastery.learned} of {cards(mastery.cards)} learned
          {mastery.due ? `, ${mastery.due} due now` : next ? `, next review ${next}` : ""}
        </span>
      </p>
      <p>
        {mastery.due > 0 && (
          <Link className="button" to={`/review?course=${course.id}`}>
            Review {cards(mastery.due)}
          </Link>
        )}{" "}
        <button type="button" className="link" onClick={() => download.mutate()} disabled={download.isPending}>
          Export cards for Anki (CSV)
        </button>
      </p>
      {download.error && <ErrorNotice error={download.error} />}
    </section>
  );
}
