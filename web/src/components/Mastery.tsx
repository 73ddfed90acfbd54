// Flashcards in the course list and the course page (issue 23): how many cards are due, and a
// course's mastery (cards learned, due now, the next review), with the way to review them and to
// take them to Anki.
import { Link } from "react-router-dom";
import type { CourseDetail, CourseMastery } from "../api/types";
import { dueIn } from "../pages/Review";
import { useDownloadCards, useDueCards } from "../queries/reviews";
import { ErrorNotice } from "./Status";
import { useT, type Translator } from "../i18n";

function cards(count: number, plural: Translator["plural"]): string {
  return plural(count, "cards.one", "cards.other");
}

/** My courses: how many cards are due across every course, and where to review them. */
export function DueBanner() {
  const { t, plural } = useT();
  const due = useDueCards();
  const count = due.data?.due ?? 0;
  if (!count) return null;
  return (
    <p className="notice due-cards">
      {t("cards.due", { cards: cards(count, plural) })} <Link to="/review">{t("cards.reviewNow")}</Link>
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
  const translator = useT();
  const { t, plural } = translator;
  const download = useDownloadCards(course.id, ({ filename, csv }) => save(filename, csv));
  if (!mastery || mastery.cards === 0) return null;
  const next = mastery.nextDueAt ? dueIn(mastery.nextDueAt, Date.now(), translator.lang, t) : null;
  return (
    <section className="mastery" aria-labelledby="mastery-heading">
      <h2 id="mastery-heading">{t("cards.heading")}</h2>
      <p className="progress-line">
        <progress max={mastery.cards} value={mastery.learned} aria-label={t("cards.learnedLabel")} />
        <span>
          {t("cards.learned", { learned: mastery.learned, cards: cards(mastery.cards, plural) })}
          {mastery.due ? t("cards.dueNow", { due: mastery.due }) : next ? t("cards.nextReview", { when: next }) : ""}
        </span>
      </p>
      <p>
        {mastery.due > 0 && (
          <Link className="button" to={`/review?course=${course.id}`}>
            {t("cards.review", { cards: cards(mastery.due, plural) })}
          </Link>
        )}{" "}
        <button type="button" className="link" onClick={() => download.mutate()} disabled={download.isPending}>
          {t("cards.export")}
        </button>
      </p>
      {download.error && <ErrorNotice error={download.error} />}
    </section>
  );
}
