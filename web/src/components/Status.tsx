import { ApiError } from "../api";
import type { LessonSummary } from "../types";

export function lessonState(lesson: Pick<LessonSummary, "status" | "priority">): { label: string; tone: string } {
  switch (lesson.status) {
    case "GENERATED":
      return { label: "ready", tone: "ok" };
    case "GENERATING":
      return { label: "generating", tone: "busy" };
    case "FAILED":
      return { label: "failed", tone: "bad" };
    default:
      return lesson.priority ? { label: "queued", tone: "busy" } : { label: "not started", tone: "idle" };
  }
}

export function Badge({ label, tone }: { label: string; tone: string }) {
  return <span className={`badge ${tone}`}>{label}</span>;
}

/** 4xx in the API's own words; 503 and network errors as a retrying state, never a blank page. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.isUnavailable) {
    return (
      <p role="status" className="notice retrying">
        FlowGen is briefly unavailable; retrying{error.retryAfter ? ` in ${error.retryAfter}s` : ""}…
      </p>
    );
  }
  const message = error instanceof ApiError ? error.message : "Something went wrong.";
  return (
    <p role="alert" className="notice error">
      {message}
    </p>
  );
}
