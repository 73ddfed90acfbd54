// Every query key the app uses, made here and nowhere else (TanStack's query key factory).
//
// A key is a prefix of the keys below it, and invalidating a key refreshes everything under it.
// The families are separate roots on purpose, because the app refreshes them separately:
// - a course's detail is not a prefix of its lessons: opening a lesson (its GET) tells the API
//   the learner wants it now, so refreshing a course must not re-open the lesson on screen;
// - the course list is not a prefix of the courses: deleting or creating one refreshes the list;
// - progress() covers the overview and every course's progress: recording progress in one
//   lesson refreshes both the course's count and the list's percentages.
export const keys = {
  /** My courses, every page of the list. */
  courses: () => ["courses"] as const,
  /** One course with its outline, as GET /courses/{id} serves it. */
  course: (courseId: string) => ["course", courseId] as const,
  /** One lesson, as opening it answers: the whole fetch (status and Retry-After with the body). */
  lesson: (courseId: string, lessonId: string) => ["lesson", courseId, lessonId] as const,
  /** One version of a lesson as written (never changes): not under lesson(), whose GET asks for
   * the lesson to be written, and whose refresh has nothing to do with a version's text. */
  lessonVersion: (courseId: string, lessonId: string, version: number) => ["lessonVersion", courseId, lessonId, version] as const,
  /** The learner's questions on one lesson, the whole fetch. */
  questions: (courseId: string, lessonId: string) => ["questions", courseId, lessonId] as const,
  /** A course as one Markdown file (the print view). */
  export: (courseId: string) => ["export", courseId] as const,
  /** Every progress query: the overview and each course's. */
  progress: () => ["progress"] as const,
  /** Completed lessons per course, for the course list. */
  progressOverview: () => [...keys.progress(), "overview"] as const,
  /** The learner's progress in one course. */
  courseProgress: (courseId: string) => [...keys.progress(), "course", courseId] as const,
  /** Every flashcard query: the due lists (all courses, or one). A review refreshes them and progress. */
  reviews: () => ["reviews"] as const,
  dueCards: (courseId?: string) => [...keys.reviews(), "due", courseId ?? "all"] as const,
  /** The learner's sources (issue 24): the list, and each one as GET /sources/{id} serves it
   * (polled while it is ingested; its settled state refreshes the list). */
  sources: () => ["sources"] as const,
  source: (sourceId: string) => [...keys.sources(), sourceId] as const,
};
