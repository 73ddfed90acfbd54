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
import { useSession } from "../session";
import { SharedApiContext } from "../sharedContext";

// A lesson's screen loads markdown and highlighting: on demand, as the signed-in app's does.
const SharedLesson = lazy(() => import("./SharedLesson").then((module) => ({ default: module.SharedLesson })));

function LessonRow({ token, lesson }: { token: string; lesson: SharedLessonSummary }) {
  const written = lesson.status === "GENERATED";
  return (
    <li className="lesson-row">
      <span className="check" aria-hidden="true" />
      <Link to={`/shared/${token}/lessons/${lesson.id}`}>{lesson.title}</Link>
      <Badge label={written ? "ready" : "not written yet"} tone={written ? "ok" : "idle"} />
      {lesson.summary && <p className="summary">{lesson.summary}</p>}
    </li>
  );
}

function SharedCourseScreen() {
  const { token = "" } = useParams();
  const course = useSharedCourse(token);
  const data: SharedCourseData | undefined = course.data;
  useTitle(data?.title ?? "Shared course");
  if (!isShareToken(token) || isDeadLink(course.error)) return <SharedNotFound />;
  if (!data)
    return (
      <main id="main">
        <PageHeading>Shared course</PageHeading>
        {course.error ? <ErrorNotice error={course.error} /> : <p>Loading…</p>}
      </main>
    );
  const title = data.title ?? "A shared course";
  return (
    <main id="main" className="shared">
      <p className="crumbs shared-note">A course shared with you: read it without an account.</p>
      <PageHeading>{title}</PageHeading>
      {data.description && <p className="lead">{data.description}</p>}
      {data.language && (
        <p className="course-language">
          Written in <strong>{data.language}</strong>
        </p>
      )}
      <MakeItYours token={token} title={title} />
      {data.objectives.length > 0 && (
        <section aria-label="Objectives">
          <h2>You will be able to</h2>
          <ul>
            {data.objectives.map((objective, i) => (
              <li key={i}>{objective}</li>
            ))}
          </ul>
        </section>
      )}
      <p className="progress">
        {data.lessonsWritten} of {data.lessonCount} lessons written so far. The others are written for whoever makes
        the course theirs.
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
  const session = useSession();
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
        <header className="top no-print">
          <Link to="/" className="brand">
            FlowGen
          </Link>
          {session.user ? (
            <span className="who">{session.user}</span>
          ) : (
            <Link to="/" className="who">
              Sign in
            </Link>
          )}
        </header>
        <Routes>
          <Route path="/shared/:token" element={<SharedCourseScreen />} />
          <Route
            path="/shared/:token/lessons/:lessonId"
            element={
              <Suspense fallback={<main id="main" className="lesson"><p>Loading…</p></main>}>
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

export default SharedScreens;
