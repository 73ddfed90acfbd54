import type { CourseProgress, LessonProgress } from "../api/types";
import { mergeProgress } from "./progress";

const course: CourseProgress = {
  courseId: "c", lessonCount: 3, completed: 1, percent: 33, finished: false, nextLessonId: "m01-l02",
  lessons: [{ lessonId: "m01-l01", openedAt: "t0", completedAt: "t1", completedBy: "learner", quiz: null, updatedAt: "t1" }],
};

describe("recorded progress, folded into the cached course progress", () => {
  it("replaces the lesson's entry in place", () => {
    const saved: LessonProgress = { lessonId: "m01-l01", openedAt: "t0", completedAt: null, completedBy: null, quiz: null, updatedAt: "t2" };
    expect(mergeProgress(course, saved).lessons).toEqual([saved]);
  });

  it("adds a lesson that had none, and keeps the counts for the API to recompute", () => {
    const saved: LessonProgress = { lessonId: "m01-l02", openedAt: "t3" };
    const merged = mergeProgress(course, saved);
    expect(merged.lessons.map((l) => l.lessonId)).toEqual(["m01-l01", "m01-l02"]);
    expect([merged.completed, merged.percent]).toEqual([1, 33]);
    expect(course.lessons).toHaveLength(1); // not changed in place
  });
});
