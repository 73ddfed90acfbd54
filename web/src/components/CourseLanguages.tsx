import type { ReactNode } from "react";
import { useParams } from "react-router-dom";

import { CourseLanguage } from "../i18n";
import { useCourseOutline } from "../queries/courses";
import { useSharedCourse } from "./SharedParts";

/** A screen of the learner's course (`:courseId`) in the course's language: the outline is read
 * from the cache the screens poll, the catalogue loaded when the language is not English. */
export function OwnCourseLanguage({ children }: { children: ReactNode }) {
  const { courseId = "" } = useParams();
  const outline = useCourseOutline(courseId);
  return <CourseLanguage language={outline.data?.language}>{children}</CourseLanguage>;
}

/** A screen of a shared course (`:token`) in that course's language, as its owner's is. */
export function SharedCourseLanguage({ children }: { children: ReactNode }) {
  const { token = "" } = useParams();
  const course = useSharedCourse(token);
  return <CourseLanguage language={course.data?.language}>{children}</CourseLanguage>;
}
