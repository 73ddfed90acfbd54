import { Link } from "react-router-dom";
import { PageHeading } from "../components/Heading";
import { Badge, ErrorNotice } from "../components/Status";
import { useCourses, useDeleteCourse } from "../queries/courses";
import { useProgressOverview } from "../queries/progress";
import { useTitle } from "../screen";
import type { CourseSummary } from "../api/types";

const TONE: Record<string, string> = { READY: "ok", FAILED: "bad", REFUSED: "bad", PENDING: "busy", GENERATING: "busy" };

function percentLabel(completed: number, total: number): string {
  return total ? `${Math.floor((completed * 100) / total)}% completed` : "not started";
}

function CourseRow({ course, completed }: { course: CourseSummary; completed: number }) {
  const remove = useDeleteCourse(course.id);
  const confirmDelete = () => {
    if (window.confirm(`Delete “${course.title ?? course.prompt}” and all its lessons?`)) remove.mutate();
  };
  return (
    <li className="course-row">
      <Link to={`/courses/${course.id}`}>{course.title ?? course.prompt}</Link>
      <Badge label={course.status.toLowerCase()} tone={TONE[course.status] ?? "idle"} />
      {course.lessonCount > 0 && (
        <span className="learner-percent">
          <progress max={course.lessonCount} value={completed} aria-label={`${course.title ?? course.prompt}: lessons completed`} />{" "}
          {percentLabel(completed, course.lessonCount)}
        </span>
      )}
      <span className="progress">
        {course.lessonCount ? `${course.lessonsGenerated} of ${course.lessonCount} lessons written` : "outline being written…"}
      </span>
      <button type="button" className="link danger" onClick={confirmDelete} aria-label={`Delete ${course.title ?? course.prompt}`}>
        Delete
      </button>
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
