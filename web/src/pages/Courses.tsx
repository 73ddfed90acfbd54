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
import type { CourseSummary } from "../api/types";

const TONE: Record<string, string> = { READY: "ok", FAILED: "bad", REFUSED: "bad", PENDING: "busy", GENERATING: "busy" };

function percentLabel(completed: number, total: number): string {
  return total ? `${Math.floor((completed * 100) / total)}% completed` : "not started";
}

/** What the row says of the course's writing: never "being written" for an outline that failed. */
function writingNote(course: CourseSummary): string | null {
  if (course.lessonCount) return `${course.lessonsGenerated} of ${course.lessonCount} lessons written`;
  if (course.status === "PENDING" || course.status === "GENERATING") return isRetrying(course) ? null : "outline being written…";
  return null; // FAILED and REFUSED say why below
}

function CourseRow({ course, completed }: { course: CourseSummary; completed: number }) {
  const remove = useDeleteCourse(course.id);
  const retry = useRetryCourse(course.id);
  const name = course.title ?? course.prompt;
  const note = writingNote(course);
  const retrying = isRetrying(course);
  const link = useRef<HTMLAnchorElement>(null);
  const confirmDelete = () => {
    if (window.confirm(`Delete “${course.title ?? course.prompt}” and all its lessons?`)) remove.mutate();
  };
  return (
    <li className="course-row">
      <Link to={`/courses/${course.id}`} ref={link}>
        {name}
      </Link>
      <Badge label={retrying ? "retrying" : course.status.toLowerCase()} tone={TONE[course.status] ?? "idle"} />
      {course.lessonCount > 0 && (
        <span className="learner-percent">
          <progress max={course.lessonCount} value={completed} aria-label={`${course.title ?? course.prompt}: lessons completed`} />{" "}
          {percentLabel(completed, course.lessonCount)}
        </span>
      )}
      {note && <span className="progress">{note}</span>}
      <button type="button" className="link danger" onClick={confirmDelete} aria-label={`Delete ${course.title ?? course.prompt}`}>
        Delete
      </button>
      {retrying && <RetryingNotice subject="outline" item={course} live={false} />}
      {course.status === "FAILED" && (
        <FailedNotice
          subject="outline"
          item={course}
          onRetry={() => retry.mutate(undefined, { onSuccess: () => link.current?.focus() })}
          busy={retry.isPending}
          error={retry.error}
          label={`Retry “${name}”`}
        />
      )}
      {course.status === "REFUSED" && <p className="notice error failure">This prompt cannot become a course: {course.error}</p>}
      {remove.error && <ErrorNotice error={remove.error} />}
    </li>
  );
}

export function Courses() {
  const query = useCourses();
  const overview = useProgressOverview();
  const completed = new Map((overview.data?.courses ?? []).map((c) => [c.courseId, c.completed]));
  const courses = query.data?.pages.flatMap((page) => page.items) ?? [];
  useTitle("My courses");
  return (
    <main id="main">
      <div className="heading-row">
        <PageHeading>My courses</PageHeading>
        <Link className="button" to="/new">
          New course
        </Link>
      </div>
      <DueBanner />
      {query.error && <ErrorNotice error={query.error} />}
      {query.isPending ? (
        <p>Loading…</p>
      ) : courses.length === 0 ? (
        <p>
          No courses yet. <Link to="/new">Create your first one.</Link>
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
          Show more
        </button>
      )}
    </main>
  );
}
