import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { useApi } from "../context";
import { PageHeading } from "../components/Heading";
import { Badge, ErrorNotice } from "../components/Status";
import { listPollDelay } from "../polling";
import { percentLabel, useProgressOverview } from "../progress";
import { useTitle } from "../screen";
import type { CourseSummary } from "../types";

const TONE: Record<string, string> = { READY: "ok", FAILED: "bad", REFUSED: "bad", PENDING: "busy", GENERATING: "busy" };

function CourseRow({ course, completed }: { course: CourseSummary; completed: number }) {
  const api = useApi();
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.deleteCourse(course.id),
    onSuccess: () => client.invalidateQueries({ queryKey: ["courses"] }),
  });
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
  const api = useApi();
  const query = useInfiniteQuery({
    queryKey: ["courses"],
    queryFn: ({ pageParam }) => api.listCourses(pageParam).then((r) => r.data),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
    // refreshes while any course's outline is being written, stops once all are settled
    refetchInterval: (q) => listPollDelay(q.state.data?.pages.flatMap((page) => page.items) ?? []),
  });
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
