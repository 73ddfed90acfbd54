import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError } from "../api";
import { Blocks } from "../components/Blocks";
import { ErrorNotice } from "../components/Status";
import { useApi } from "../context";
import { nextPollDelay } from "../polling";

export function LessonView() {
  const { courseId = "", lessonId = "" } = useParams();
  const api = useApi();
  const client = useQueryClient();
  const heading = useRef<HTMLHeadingElement>(null);
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
  useEffect(() => heading.current?.focus(), [lessonId, data?.status]);

  if (lesson.error instanceof ApiError && lesson.error.status === 404) {
    return (
      <main>
        <h1>Lesson not found</h1>
        <Link to="/">Back to my courses</Link>
      </main>
    );
  }
  if (!data) return <main>{lesson.error ? <ErrorNotice error={lesson.error} /> : <p>Loading…</p>}</main>;
  return (
    <main className="lesson">
      <p className="crumbs">
        <Link to={`/courses/${courseId}`}>Back to the course</Link>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        {data.title}
      </h1>
      <p className="lead">{data.summary}</p>
      {lesson.error && <ErrorNotice error={lesson.error} />}
      {data.status === "GENERATED" && data.content ? (
        <article>
          <Blocks blocks={data.content.blocks} />
          <p className="hint">Written by {data.content.generator}.</p>
        </article>
      ) : data.status === "FAILED" ? (
        <p className="notice error">
          This lesson could not be written: {data.error}{" "}
          <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
            Retry
          </button>
        </p>
      ) : (
        <p role="status" className="notice building" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Writing this lesson for you… it usually takes a few seconds.
        </p>
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
