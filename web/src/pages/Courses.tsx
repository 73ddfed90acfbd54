import { useRef } from "react";
import { Link } from "react-router-dom";
import { PageHeading } from "../components/Heading";
import { FailedNotice, RetryingNotice } from "../components/Failure";
import { DueBanner } from "../components/Mastery";
import { Badge, ErrorNotice } from "../components/Status";
import { isRetrying } from "../failures";
import { useCourses, useDeleteCourse, useRetryCourse } from "../queries/courses";
import { useProgressOverview } from "../queries/progress";
import { useTitle } from "../screen";
import { InterfaceLanguage, useT, type Translator } from "../i18n";
import type { CourseSummary } from "../api/types";

const TONE: Record<string, string> = { READY: "ok", FAILED: "bad", REFUSED: "bad", PENDING: "busy", GENERATING: "busy" };

function percentLabel(completed: number, total: number, t: Translator["t"]): string {
  return total ? t("courses.percent", { percent: Math.floor((completed * 100) / total) }) : t("courses.notStarted");
}

/** A course's state in words (the API's status names are not the learner's). */
function statusLabel(course: CourseSummary, retrying: boolean, t: Translator["t"]): string {
  if (retrying) return t("courses.status.retrying");
  switch (course.status) {
    case "READY":
      return t("courses.status.ready");
    case "FAILED":
      return t("courses.status.failed");
    case "REFUSED":
      return t("courses.status.refused");
    case "GENERATING":
      return t("courses.status.generating");
    default:
      return t("courses.status.pending");
  }
}

/** What the row says of the course's writing: never "being written" for an outline that failed. */
function writingNote(course: CourseSummary, t: Translator["t"]): string | null {
  if (course.lessonCount) return t("courses.written", { written: course.lessonsGenerated, total: course.lessonCount });
  if (course.status === "PENDING" || course.status === "GENERATING") return isRetrying(course) ? null : t("courses.outlineWriting");
  return null; // FAILED and REFUSED say why below
}

function CourseRow({ course, completed }: { course: CourseSummary; completed: number }) {
  const { t } = useT();
  const remove = useDeleteCourse(course.id);
  const retry = useRetryCourse(course.id);
  const name = course.title ?? course.prompt;
  const note = writingNote(course, t);
  const retrying = isRetrying(course);
  const link = useRef<HTMLAnchorElement>(null);
  const confirmDelete = () => {
    if (window.confirm(t("courses.confirmDelete", { name }))) remove.mutate();
  };
  return (
    <li className="course-row">
      <Link to={`/courses/${course.id}`} ref={link}>
        {name}
      </Link>
      <Badge label={statusLabel(course, retrying, t)} tone={TONE[course.status] ?? "idle"} />
      {course.lessonCount > 0 && (
        <span className="learner-percent">
          <progress max={course.lessonCount} value={completed} aria-label={t("courses.completedOf", { name })} />{" "}
          {percentLabel(completed, course.lessonCount, t)}
        </span>
      )}
      {note && <span className="progress">{note}</span>}
      <button type="button" className="link danger" onClick={confirmDelete} aria-label={t("courses.deleteNamed", { name })}>
        {t("courses.delete")}
      </button>
      {retrying && <RetryingNotice subject="outline" item={course} live={false} />}
      {course.status === "FAILED" && (
        <FailedNotice
          subject="outline"
          item={course}
          onRetry={() => retry.mutate(undefined, { onSuccess: () => link.current?.focus() })}
          busy={retry.isPending}
          error={retry.error}
          label={t("common.retryNamed", { name })}
        />
      )}
      {course.status === "REFUSED" && <p className="notice error failure">{t("courses.refused", { why: course.error ?? "" })}</p>}
      {remove.error && <ErrorNotice error={remove.error} />}
    </li>
  );
}

/** The learner's courses, in the browser's language (outside any course). */
export function Courses() {
  return (
    <InterfaceLanguage>
      <CourseList />
    </InterfaceLanguage>
  );
}

function CourseList() {
  const { t, lang } = useT();
  const query = useCourses();
  const overview = useProgressOverview();
  const completed = new Map((overview.data?.courses ?? []).map((c) => [c.courseId, c.completed]));
  const courses = query.data?.pages.flatMap((page) => page.items) ?? [];
  useTitle(t("nav.myCourses"));
  return (
    <main id="main" lang={lang}>
      <div className="heading-row">
        <PageHeading>{t("nav.myCourses")}</PageHeading>
        <Link className="button" to="/new">
          {t("new.title")}
        </Link>
      </div>
      <DueBanner />
      {query.error && <ErrorNotice error={query.error} />}
      {query.isPending ? (
        <p>{t("common.loading")}</p>
      ) : courses.length === 0 ? (
        <p>
          {t("courses.none")} <Link to="/new">{t("courses.createFirst")}</Link>
        </p>
      ) : (
        <ul className="courses">
          {courses.map((course) => (
            <CourseRow key={course.id} course={course} completed={completed.get(course.id) ?? 0} />
          ))}
        </ul>
      )}
      {query.hasNextPage && (
        <button type="button" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          {t("courses.more")}
        </button>
      )}
    </main>
  );
}
