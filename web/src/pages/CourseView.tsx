import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError } from "../api";
import { useApi } from "../context";
import { courseFingerprint, isCourseSettled, nextPollDelay } from "../polling";
import { Badge, ErrorNotice, lessonState } from "../components/Status";
import type { CourseDetail, LessonSummary } from "../types";

function LessonRow({ courseId, lesson }: { courseId: string; lesson: LessonSummary }) {
  const api = useApi();
  const client = useQueryClient();
  const retry = useMutation({
    mutationFn: () => api.retryLesson(courseId, lesson.id),
    onSuccess: () => client.invalidateQueries({ queryKey: ["course", courseId] }),
  });
  const state = lessonState(lesson);
  return (
    <li className="lesson-row">
      <Link to={`/courses/${courseId}/lessons/${lesson.id}`}>{lesson.title}</Link>
      <Badge {...state} />
      <p className="summary">{lesson.summary}</p>
      {lesson.status === "FAILED" && (
        <p className="notice error">
          {lesson.error}{" "}
          <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
            Retry
          </button>
        </p>
      )}
    </li>
  );
}

export function useCourse(courseId: string) {
  const api = useApi();
  const unchanged = useRef({ fingerprint: "", polls: 0 });
  return useQuery({
    queryKey: ["course", courseId],
    queryFn: async () => {
      const { data } = await api.getCourse(courseId);
      const fingerprint = courseFingerprint(data);
      unchanged.current =
        fingerprint === unchanged.current.fingerprint
          ? { fingerprint, polls: unchanged.current.polls + 1 }
          : { fingerprint, polls: 0 };
      return data;
    },
    // slows down while nothing changes, stops once settled; react-query pauses hidden tabs
    refetchInterval: (query) => {
      const data = query.state.data as CourseDetail | undefined;
      return data ? nextPollDelay(isCourseSettled(data), unchanged.current.polls) : false;
    },
  });
}

export function CourseView() {
  const { courseId = "" } = useParams();
  const api = useApi();
  const client = useQueryClient();
  const course = useCourse(courseId);
  const retry = useMutation({
    mutationFn: () => api.retryCourse(courseId),
    onSuccess: () => client.invalidateQueries({ queryKey: ["course", courseId] }),
  });

  if (course.error instanceof ApiError && course.error.status === 404) {
    return (
      <main>
        <h1>Course not found</h1>
        <p>
          It does not exist, or it is not yours. <Link to="/">Back to my courses</Link>
        </p>
      </main>
    );
  }
  const data = course.data;
  if (!data) return <main>{course.error ? <ErrorNotice error={course.error} /> : <p>Loading…</p>}</main>;
  const building = data.status === "PENDING" || data.status === "GENERATING";
  return (
    <main>
      <p className="crumbs">
        <Link to="/">My courses</Link>
      </p>
      <h1>{data.title ?? data.prompt}</h1>
      {course.error && <ErrorNotice error={course.error} />}
      {data.description && <p className="lead">{data.description}</p>}
      {building && (
        <p role="status" className="notice building">
          Writing the outline…
        </p>
      )}
      {data.status === "REFUSED" && <p className="notice error">This prompt cannot become a course: {data.error}</p>}
      {data.status === "FAILED" && (
        <p className="notice error">
          The outline failed: {data.error}{" "}
          <button type="button" onClick={() => retry.mutate()}>
            Retry
          </button>
        </p>
      )}
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
        {data.lessonsGenerated}/{data.lessonCount} lessons ready. Lessons are written when you open them (and the
        next few in the background).
      </p>
      {data.modules.map((module) => (
        <section key={module.id} className="module" aria-label={module.title}>
          <h2>{module.title}</h2>
          <ol className="lessons">
            {module.lessons.map((lesson) => (
              <LessonRow key={lesson.id} courseId={courseId} lesson={lesson} />
            ))}
          </ol>
        </section>
      ))}
    </main>
  );
}
