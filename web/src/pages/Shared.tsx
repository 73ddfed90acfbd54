import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useMemo } from "react";
import { Link, Route, Routes, useParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { isShareToken, SharedApi } from "../api/shared";
import type { SharedCourse as SharedCourseData, SharedLessonSummary } from "../api/types";
import { PageHeading } from "../components/Heading";
import { isDeadLink, MakeItYours, SharedNotFound, useSharedCourse } from "../components/SharedParts";
import { Badge, ErrorNotice } from "../components/Status";
import type { AppConfig } from "../config";
import { useTitle } from "../screen";
import { InterfaceLanguage, useT } from "../i18n";
import { SharedCourseLanguage } from "../components/CourseLanguages";
import { useSession } from "../session";
import { SharedApiContext } from "../sharedContext";

// A lesson's screen loads markdown and highlighting: on demand, as the signed-in app's does.
const SharedLesson = lazy(() => import("./SharedLesson").then((module) => ({ default: module.SharedLesson })));

function LessonRow({ token, lesson }: { token: string; lesson: SharedLessonSummary }) {
  const { t } = useT();
  const written = lesson.status === "GENERATED";
  return (
    <li className="lesson-row">
      <span className="check" aria-hidden="true" />
      <Link to={`/shared/${token}/lessons/${lesson.id}`}>{lesson.title}</Link>
      <Badge label={written ? t("shared.ready") : t("status.notWritten")} tone={written ? "ok" : "idle"} />
      {lesson.summary && <p className="summary">{lesson.summary}</p>}
    </li>
  );
}

/** A shared course in its language's interface, as its owner's is. */
function SharedCourse() {
  return (
    <SharedCourseLanguage>
      <SharedCourseScreen />
    </SharedCourseLanguage>
  );
}

function SharedCourseScreen() {
  const { token = "" } = useParams();
  const { t, lang } = useT();
  const course = useSharedCourse(token);
  const data: SharedCourseData | undefined = course.data;
  useTitle(data?.title ?? t("shared.title"));
  if (!isShareToken(token) || isDeadLink(course.error)) return <SharedNotFound />;
  if (!data)
    return (
      <main id="main" lang={lang}>
        <PageHeading>{t("shared.title")}</PageHeading>
        {course.error ? <ErrorNotice error={course.error} /> : <p>{t("common.loading")}</p>}
      </main>
    );
  const title = data.title ?? t("shared.untitled");
  return (
    <main id="main" className="shared" lang={lang}>
      <p className="crumbs shared-note">{t("shared.note")}</p>
      <PageHeading>{title}</PageHeading>
      {data.description && <p className="lead">{data.description}</p>}
      {data.language && (
        <p className="course-language">
          {t("course.writtenIn")} <strong>{data.language}</strong>
        </p>
      )}
      <MakeItYours token={token} title={title} />
      {data.objectives.length > 0 && (
        <section aria-label={t("course.objectivesRegion")}>
          <h2>{t("course.objectives")}</h2>
          <ul>
            {data.objectives.map((objective, i) => (
              <li key={i}>{objective}</li>
            ))}
          </ul>
        </section>
      )}
      <p className="progress">
        {t("shared.writtenSoFar", { written: data.lessonsWritten, total: data.lessonCount })}
      </p>
      {data.modules.map((module) => (
        <section key={module.id} className="module" aria-label={module.title}>
          <h2>{module.title}</h2>
          <ol className="lessons">
            {module.lessons.map((lesson) => (
              <LessonRow key={lesson.id} token={token} lesson={lesson} />
            ))}
          </ol>
        </section>
      ))}
    </main>
  );
}

function retryDelay(attempt: number, error: unknown): number {
  if (error instanceof ApiError && error.retryAfter) return error.retryAfter * 1000;
  return Math.min(30_000, 1000 * 2 ** attempt);
}

/** The screens of a share link (`#/shared/<token>`), signed in or not: their own API (no token)
 * and query cache; the top bar offers to sign in, or names who is. */
export function SharedScreens({ config }: { config: AppConfig }) {
  const api = useMemo(() => new SharedApi(config.apiUrl), [config.apiUrl]);
  const client = useMemo(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            // a dead link is shown at once; a limit or an outage is waited out (Retry-After)
            retry: (count, error) => error instanceof ApiError && (error.isUnavailable || error.isRateLimited) && count < 10,
            retryDelay,
            refetchOnWindowFocus: false,
          },
        },
      }),
    [],
  );
  return (
    <QueryClientProvider client={client}>
      <SharedApiContext.Provider value={api}>
        <InterfaceLanguage>
          <SharedTop />
        </InterfaceLanguage>
        <Routes>
          <Route path="/shared/:token" element={<SharedCourse />} />
          <Route
            path="/shared/:token/lessons/:lessonId"
            element={
              <Suspense fallback={<main id="main" className="lesson"><p>…</p></main>}>
                <SharedLesson />
              </Suspense>
            }
          />
          <Route path="*" element={<SharedNotFound />} />
        </Routes>
      </SharedApiContext.Provider>
    </QueryClientProvider>
  );
}

/** The top bar: sign in, or who is signed in. */
function SharedTop() {
  const session = useSession();
  const { t } = useT();
  return (
        <header className="top no-print">
          <Link to="/" className="brand">
            FlowGen
          </Link>
          {session.user ? (
            <span className="who">{session.user}</span>
          ) : (
            <Link to="/" className="who">
              {t("signin.submit")}
            </Link>
          )}
        </header>
  );
}

export default SharedScreens;
