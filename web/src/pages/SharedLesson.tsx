import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router-dom";
import { isShareToken } from "../api/shared";
import type { LessonProgress, QuizGrade, QuizResult } from "../api/types";
import { Blocks, type QuizProgress } from "../components/Blocks";
import { PageHeading } from "../components/Heading";
import { isDeadLink, MakeItYours, SharedNotFound, useSharedCourse } from "../components/SharedParts";
import { ErrorNotice } from "../components/Status";
import { useTitle } from "../screen";
import { useT } from "../i18n";
import { SharedCourseLanguage } from "../components/CourseLanguages";
import { sharedKeys, useSharedApi } from "../sharedContext";

/** A checked shared quiz as the quiz shows a result: graded by the API, kept nowhere. */
export function asResult(grade: QuizGrade, lessonId: string): { result: QuizResult; saved: LessonProgress } {
  const result: QuizResult = { ...grade, tries: [], lessonVersion: null, takenAt: new Date().toISOString() };
  return { result, saved: { lessonId } };
}

/** A lesson of a shared course, read without an account: written, or said not to be (reading it
 * never starts its writing; its owner's reading does). The quiz is checked, never recorded. */
export function SharedLesson() {
  return (
    <SharedCourseLanguage>
      <SharedLessonScreen />
    </SharedCourseLanguage>
  );
}

function SharedLessonScreen() {
  const { t, lang } = useT();
  const { token = "", lessonId = "" } = useParams();
  const api = useSharedApi();
  const lesson = useQuery({
    queryKey: sharedKeys.lesson(token, lessonId),
    queryFn: () => api.lesson(token, lessonId).then((r) => r.data),
    enabled: isShareToken(token),
  });
  const course = useSharedCourse(token);
  const data = lesson.data;
  useTitle(data?.title ?? t("shared.lessonTitle"));
  if (!isShareToken(token) || isDeadLink(lesson.error)) {
    return lesson.error && "code" in lesson.error && lesson.error.code === "lesson_not_found" ? (
      <main id="main" className="lesson" lang={lang}>
        <PageHeading>{t("notFound.lesson")}</PageHeading>
        <p>{t("shared.noSuchLesson")}</p>
        <p>
          <Link to={`/shared/${token}`}>{t("lesson.back")}</Link>
        </p>
      </main>
    ) : (
      <SharedNotFound />
    );
  }
  const crumbs = (
    <p className="crumbs">
      <Link to={`/shared/${token}`}>{course.data?.title ?? t("lesson.back")}</Link>
    </p>
  );
  if (!data)
    return (
      <main id="main" className="lesson" lang={lang}>
        {crumbs}
        <PageHeading>{t("lesson.title")}</PageHeading>
        {lesson.error ? <ErrorNotice error={lesson.error} /> : <p>{t("common.loading")}</p>}
      </main>
    );
  const quiz: QuizProgress = {
    result: null,
    version: null,
    submit: async (answers, reveal) => asResult((await api.checkQuiz(token, lessonId, answers, reveal)).data, lessonId),
    recorded: false,
  };
  return (
    <main id="main" className="lesson shared" lang={lang}>
      {crumbs}
      <PageHeading>{data.title}</PageHeading>
      <p className="lead">{data.summary}</p>
      {data.content ? (
        <article className="lesson-body">
          <Blocks key={`${token}:${lessonId}`} blocks={data.content.blocks} quiz={quiz} />
          <p className="hint authorship">
            {data.content.generator === "offline" ? t("lesson.authorOffline") : t("shared.authorModel")}{" "}
            {t("shared.keptNowhere")}
          </p>
        </article>
      ) : (
        <p role="status" className="notice not-written">
          {t("shared.notWritten")}
        </p>
      )}
      <MakeItYours token={token} title={course.data?.title ?? data.title} />
      <nav className="pager" aria-label={t("lesson.lessons")}>
        {data.previousLessonId ? (
          <Link to={`/shared/${token}/lessons/${data.previousLessonId}`} rel="prev">
            {t("lesson.previous")}
          </Link>
        ) : (
          <span />
        )}
        {data.nextLessonId && (
          <Link to={`/shared/${token}/lessons/${data.nextLessonId}`} rel="next">
            {t("lesson.next")}
          </Link>
        )}
      </nav>
    </main>
  );
}
