import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { Link, useParams } from "react-router-dom";
import { Blocks, type QuizProgress } from "../components/Blocks";
import { PageHeading } from "../components/Heading";
import { NotFound } from "../components/NotFound";
import { ErrorNotice, isMissing } from "../components/Status";
import { useApi } from "../context";
import { nextPollDelay } from "../polling";
import { useCourseProgress, useRecordProgress } from "../progress";
import { useTitle } from "../screen";
import type { Lesson, QuizResult } from "../types";

/** Who wrote it, without naming an internal model id. */
function authorship(generator: string): string {
  return generator === "offline"
    ? "Offline sample content: no model was called."
    : "Written by an AI model for you: check anything important against a second source.";
}

export function LessonView() {
  const { courseId = "", lessonId = "" } = useParams();
  const api = useApi();
  const client = useQueryClient();
  // Opening is the signal: this GET promotes the lesson to high priority. While it is not
  // ready the API answers 202 with Retry-After, which the polling honours.
  const lesson = useQuery({
    queryKey: ["lesson", courseId, lessonId],
    queryFn: () => api.openLesson(courseId, lessonId),
    refetchInterval: (query) => {
      const fetched = query.state.data;
      return fetched ? nextPollDelay(fetched.status !== 202, 0, fetched.retryAfter) : false;
    },
  });
  const retry = useMutation({
    mutationFn: () => api.retryLesson(courseId, lessonId),
    onSuccess: () => client.invalidateQueries({ queryKey: ["lesson", courseId, lessonId] }),
  });
  const data = lesson.data?.data;
  const progress = useCourseProgress(courseId, Boolean(data));
  const record = useRecordProgress(courseId, lessonId);
  const mine = progress.data?.lessons.find((p) => p.lessonId === lessonId);

  // opened: recorded once per visit (idempotent on the API: the first time is kept)
  const opened = useRef("");
  useEffect(() => {
    if (data && opened.current !== lessonId) {
      opened.current = lessonId;
      record.mutate({ opened: true });
    }
  }, [data, lessonId, record]);
  useTitle(data?.title ?? "Lesson");

  if (isMissing(lesson.error)) return <NotFound what="Lesson" />;
  const crumbs = (
    <p className="crumbs">
      <Link to={`/courses/${courseId}`}>Back to the course</Link>
    </p>
  );
  if (!data)
    return (
      <main id="main" className="lesson">
        {crumbs}
        <PageHeading>Lesson</PageHeading>
        {lesson.error ? <ErrorNotice error={lesson.error} /> : <p>Loading…</p>}
      </main>
    );
  const quiz: QuizProgress = {
    result: mine?.quiz ?? null,
    version: data.generatedAt,
    submit: async (answers): Promise<QuizResult> => {
      const saved = await record.mutateAsync({ quiz: { answers } });
      return saved.quiz as QuizResult;
    },
  };
  const done = Boolean(mine?.completedAt);
  return (
    <main id="main" className="lesson">
      {crumbs}
      <PageHeading>{data.title}</PageHeading>
      <p className="lead">{data.summary}</p>
      {lesson.error && <ErrorNotice error={lesson.error} />}
      {data.status === "GENERATED" && data.content ? (
        <article>
          <Blocks key={`${lessonId}:${data.generatedAt}`} blocks={data.content.blocks} quiz={quiz} />
          <Completion done={done} by={mine?.completedBy ?? null} busy={record.isPending} onChange={(completed) => record.mutate({ completed })} />
          <p className="hint authorship">{authorship(data.content.generator)}</p>
        </article>
      ) : data.status === "FAILED" ? (
        <p className="notice error">
          This lesson could not be written: {data.error}{" "}
          <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
            Retry
          </button>
        </p>
      ) : (
        <Writing lesson={data} />
      )}
      <nav className="pager" aria-label="Lessons">
        {data.previousLessonId ? (
          <Link to={`/courses/${courseId}/lessons/${data.previousLessonId}`} rel="prev">
            ← Previous lesson
          </Link>
        ) : (
          <span />
        )}
        {data.nextLessonId && (
          <Link to={`/courses/${courseId}/lessons/${data.nextLessonId}`} rel="next">
            Next lesson →
          </Link>
        )}
      </nav>
    </main>
  );
}

function Writing({ lesson }: { lesson: Lesson }) {
  return (
    <div role="status" className="notice building" aria-live="polite">
      <span className="spinner" aria-hidden="true" />{" "}
      {lesson.status === "GENERATING" ? "Writing this lesson for you…" : "This lesson is queued; writing starts in a moment…"} it
      usually takes a few seconds.
      <progress className="working" aria-label="Writing this lesson" />
    </div>
  );
}

function Completion({
  done,
  by,
  busy,
  onChange,
}: {
  done: boolean;
  by: "learner" | "quiz" | null;
  busy: boolean;
  onChange: (completed: boolean) => void;
}) {
  return (
    <div className="completion">
      {done ? (
        <>
          <p className="done-note">✓ Completed{by === "quiz" ? " (you passed its quiz)" : ""}.</p>
          <button type="button" className="secondary" disabled={busy} onClick={() => onChange(false)}>
            Mark as not completed
          </button>
        </>
      ) : (
        <button type="button" disabled={busy} onClick={() => onChange(true)}>
          Mark as completed
        </button>
      )}
    </div>
  );
}
