import { ApiError } from "../api/client";
import type { LessonSummary } from "../api/types";

export function lessonState(lesson: Pick<LessonSummary, "status" | "priority" | "error">): { label: string; tone: string } {
  if (lesson.status === "PENDING" && lesson.error) return { label: "retrying", tone: "busy" }; // a failed attempt
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
  if (error instanceof ApiError && error.isRateLimited) {
    return (
      <p role="status" className="notice retrying">
        {error.message}
        {error.retryAfter ? ` Trying again in ${error.retryAfter}s.` : ""}
      </p>
    );
  }
  const message = error instanceof ApiError ? error.message : "Something went wrong.";
  const details = error instanceof ApiError ? error.details : [];
  return (
    <div role="alert" className="notice error">
      <p>{message}</p>
      {details.length > 0 && (
        <ul className="details">
          {details.map((detail, i) => (
            <li key={i}>
              {detail.field ? `${detail.field}: ` : ""}
              {detail.problem}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A course or lesson id that names nothing of the caller's (or nothing at all): 404 or a 400 id. */
export function isMissing(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || (error.status === 400 && error.code.startsWith("invalid_")));
}
