import { lazy, Suspense, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { PageHeading } from "../components/Heading";
import { NotFound } from "../components/NotFound";
import { FailedNotice, RetryingNotice } from "../components/Failure";
import { Mastery } from "../components/Mastery";
import { CourseSearch } from "../components/CourseSearch";
import { CourseSources } from "../components/CourseSources";
import { ShareControl } from "../components/ShareControl";
import { Badge, ErrorNotice, isMissing, lessonState } from "../components/Status";
import { isRetrying, retryingSentence } from "../failures";
import { isOutlineBuilding } from "../polling";
import { useCourse, useRetryCourse } from "../queries/courses";
import { useT } from "../i18n";
import { OwnCourseLanguage } from "../components/CourseLanguages";
import { useDownloadExport } from "../queries/export";
import { useRetryLesson } from "../queries/lessons";
import { useCourseProgress } from "../queries/progress";
import { useFocusNext, useTitle } from "../screen";
import type { CourseDetail, CourseProgress, LessonProgress, LessonSummary, PartialOutline } from "../api/types";
import { outlineStatus, restartNotice, useRestartsSeen } from "../writing";
import { duration, minutesLeft } from "../pace";

function LessonRow({ courseId, lesson, progress }: { courseId: string; lesson: LessonSummary; progress?: LessonProgress }) {
  const retry = useRetryLesson(courseId, lesson.id, "course");
  const link = useRef<HTMLAnchorElement>(null);
  const { t } = useT();
  const done = Boolean(progress?.completedAt);
  const state = lessonState(lesson, done, t);
  return (
    <li className={done ? "lesson-row done" : "lesson-row"}>
      <span className="check" aria-hidden="true">
        {done ? "✓" : ""}
      </span>
      <Link to={`/courses/${courseId}/lessons/${lesson.id}`} ref={link}>
        {lesson.title}
      </Link>
      {progress?.quiz && (
        <span className="quiz-score">
          {t("course.quizScore", { score: progress.quiz.score, total: progress.quiz.total })}
        </span>
      )}
      {typeof lesson.readingMinutes === "number" && <span className="reading-time">{duration(lesson.readingMinutes, t)}</span>}
      <Badge {...state} />
      <p className="summary">{lesson.summary}</p>
      {isRetrying(lesson) && <RetryingNotice subject="lesson" item={lesson} live={false} />}
      {lesson.status === "FAILED" && (
        <FailedNotice
          subject="lesson"
          item={lesson}
          onRetry={() => retry.mutate(undefined, { onSuccess: () => link.current?.focus() })}
          busy={retry.isPending}
          error={retry.error}
          label={t("common.retryNamed", { name: lesson.title })}
        />
      )}
    </li>
  );
}

function Progress({ course, progress }: { course: CourseDetail; progress: CourseProgress | undefined }) {
  const { t } = useT();
  if (!progress || course.lessonCount === 0) return null;
  const first = course.modules[0]?.lessons[0]?.id;
  // Continue opens the lesson in progress (read last, not completed), else the next one
  const next = progress.resumeLessonId ?? progress.nextLessonId;
  const left = minutesLeft(course, progress);
  const resumeTitle = course.modules.flatMap((m) => m.lessons).find((l) => l.id === next)?.title;
  return (
    <section className="learner-progress" aria-label={t("course.yourProgress")}>
      <div className="progress-line">
        <progress max={progress.lessonCount} value={progress.completed} aria-label={t("course.lessonsCompleted")} />
        <span>{t("course.completedCount", { done: progress.completed, total: progress.lessonCount, percent: progress.percent })}</span>
        {left !== null && !progress.finished && <span className="time-left">{t("course.timeLeft", { time: duration(left, t) })}</span>}
      </div>
      {progress.finished ? (
        <p className="notice finished" role="status">
          {t("course.finished")} {first && <Link to={`/courses/${course.id}/lessons/${first}`}>{t("course.reviewFromStart")}</Link>}
        </p>
      ) : (
        next && (
          <p className="continue-line">
            <Link className="button continue" to={`/courses/${course.id}/lessons/${next}`}>
              {progress.completed === 0 && progress.lessons.length === 0 ? t("course.start") : t("course.continue")}
            </Link>
            {resumeTitle && progress.lessons.length > 0 && <span className="hint"> {resumeTitle}</span>}
          </p>
        )
      )}
    </section>
  );
}

/** Export as Markdown (a download) and Print (the whole course on one page, then the browser's dialog). */
function ExportControls({ courseId, title }: { courseId: string; title: string }) {
  const { t } = useT();
  const download = useDownloadExport(courseId, {
    onSuccess: ({ filename, markdown }) => {
      const url = URL.createObjectURL(new Blob([markdown], { type: "text/markdown;charset=utf-8" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });
  return (
    <div className="export-controls no-print" role="group" aria-label={t("course.exportNamed", { title })}>
      <button type="button" className="secondary" onClick={() => download.mutate()} disabled={download.isPending}>
        {download.isPending ? t("course.exporting") : t("course.export")}
      </button>
      <Link className="button secondary" to={`/courses/${courseId}/print`}>
        {t("course.print")}
      </Link>
      {download.error && <ErrorNotice error={download.error} />}
    </div>
  );
}

/** The modules written so far, while the outline is written: greyed, not links (no lesson has
 * an id yet), replaced by the real outline once the course is READY. */
function DraftOutline({ partial }: { partial: PartialOutline }) {
  const { t } = useT();
  return (
    <div className="draft-outline">
      {partial.modules.map((module, m) => (
        <section key={m} className="module draft" aria-label={t("course.moduleBeingWritten", { title: module.title })}>
          <h2>{module.title}</h2>
          <ol className="lessons">
            {module.lessons.map((lesson, l) => (
              <li key={l} className="lesson-row draft">
                <span className="lesson-title">{lesson.title}</span>
                <span className="badge idle">{t("course.notReadyToOpen")}</span>
                {lesson.summary && <p className="summary">{lesson.summary}</p>}
              </li>
            ))}
          </ol>
        </section>
      ))}
    </div>
  );
}

// The outline editor loads when asked for, not on first load.
const OutlineEditor = lazy(() => import("./OutlineEditor").then((module) => ({ default: module.OutlineEditor })));

/** The course in its language's interface (i18n): the outline is read from the cache (the screen
 * polls it), the catalogue loaded when the language is not English. */
export function CourseView() {
  return (
    <OwnCourseLanguage>
      <CourseScreen />
    </OwnCourseLanguage>
  );
}

function CourseScreen() {
  const { courseId = "" } = useParams();
  const translator = useT();
  const { t, lang } = translator;
  const course = useCourse(courseId);
  const data = course.data;
  const [editing, setEditing] = useState(false);
  const progress = useCourseProgress(courseId, Boolean(data) && !isOutlineBuilding(data ?? { status: "PENDING" }));
  const retry = useRetryCourse(courseId);
  const retried = useFocusNext();
  useTitle(data ? (data.title ?? data.partialOutline?.title ?? data.prompt) : t("course.title"));
  const restarts = useRestartsSeen(courseId, data?.partialOutline?.restarts);

  if (isMissing(course.error)) return <NotFound what="course" />;
  if (!data)
    return (
      <main id="main" lang={lang}>
        <p className="crumbs">
          <Link to="/">{t("nav.myCourses")}</Link>
        </p>
        <PageHeading>{t("course.title")}</PageHeading>
        {course.error ? <ErrorNotice error={course.error} /> : <p>{t("common.loading")}</p>}
      </main>
    );
  const building = isOutlineBuilding(data);
  // while the outline is written: what it holds so far (never final; the course's own fields are)
  const partial = building && data.modules.length === 0 ? (data.partialOutline ?? null) : null;
  const title = data.title ?? partial?.title ?? data.prompt;
  const description = data.description ?? partial?.description ?? null;
  const objectives = data.objectives.length > 0 ? data.objectives : (partial?.objectives ?? []);
  // a failed attempt's restart is said by the failure, not counted as the writing starting again
  const restarted = building && !data.error ? restartNotice(restarts, "outline", translator) : null;
  const failedAttempt = data.status === "GENERATING" ? retryingSentence("outline", data, Date.now(), translator) : null;
  const byLesson = new Map((progress.data?.lessons ?? []).map((p) => [p.lessonId, p]));
  return (
    <main id="main" lang={lang}>
      <p className="crumbs no-print">
        <Link to="/">{t("nav.myCourses")}</Link>
      </p>
      <PageHeading>{title}</PageHeading>
      {course.error && <ErrorNotice error={course.error} />}
      {description && <p className="lead">{description}</p>}
      {data.language && (
        <p className="course-language">
          {t("course.writtenIn")} <strong>{data.language}</strong>
        </p>
      )}
      {data.status === "READY" && <ExportControls courseId={courseId} title={data.title ?? data.prompt} />}
      {data.status === "READY" && <ShareControl course={data} />}
      {building && data.status === "PENDING" && isRetrying(data) ? (
        <div tabIndex={-1} ref={retried.ref} key="retrying">
          <RetryingNotice subject="outline" item={data} />
        </div>
      ) : building ? (
        <div role="status" className="notice building" tabIndex={-1} ref={retried.ref} key="building">
          {failedAttempt && <p className="failed-attempt">{failedAttempt}</p>}
          <p>
            <span className="spinner" aria-hidden="true" /> {outlineStatus(partial, translator)}
            {partial?.modules.length ? ` ${t("course.openWhenFinished")}` : ""}
          </p>
          {restarted && <p className="restarted">{restarted}</p>}
          <progress className="working" aria-label={t("course.writingOutline")} />
        </div>
      ) : null}
      {data.status === "REFUSED" && <p className="notice error">{t("courses.refused", { why: data.error ?? "" })}</p>}
      {data.status === "FAILED" && (
        <FailedNotice
          subject="outline"
          item={data}
          onRetry={() => {
            retried.request();
            retry.mutate();
          }}
          busy={retry.isPending}
          error={retry.error}
          alert
        />
      )}
      <Progress course={data} progress={progress.data} />
      <Mastery course={data} mastery={progress.data?.mastery} />
      {data.status === "READY" && data.lessonsGenerated > 0 && !editing && <CourseSearch courseId={courseId} />}
      {objectives.length > 0 && (
        <section aria-label={t("course.objectivesRegion")}>
          <h2>{t("course.objectives")}</h2>
          <ul>
            {objectives.map((objective, i) => (
              <li key={i}>{objective}</li>
            ))}
          </ul>
        </section>
      )}
      <CourseSources sourceIds={data.sourceIds ?? []} />
      {data.lessonCount > 0 && (
        <p className="progress">{t("course.writtenSoFar", { written: data.lessonsGenerated, total: data.lessonCount })}</p>
      )}
      {data.status === "READY" && !editing && (
        <button type="button" className="secondary no-print" onClick={() => setEditing(true)}>
          {t("outline.region")}
        </button>
      )}
      {editing && (
        <Suspense fallback={<p>{t("common.loading")}</p>}>
          <OutlineEditor course={data} onDone={() => setEditing(false)} />
        </Suspense>
      )}
      {partial && partial.modules.length > 0 && <DraftOutline partial={partial} />}
      {!editing && data.modules.map((module) => (
        <section key={module.id} className="module" aria-label={module.title}>
          <h2>{module.title}</h2>
          <ol className="lessons">
            {module.lessons.map((lesson) => (
              <LessonRow key={lesson.id} courseId={courseId} lesson={lesson} progress={byLesson.get(lesson.id)} />
            ))}
          </ol>
        </section>
      ))}
    </main>
  );
}
