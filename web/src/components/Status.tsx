import { ApiError } from "../api/client";
import type { LessonSummary } from "../api/types";
import { ENGLISH_T, useT, type Translator } from "../i18n";

/** A lesson's state in the learner's words (issue 26): whether it is written, and whether they
 * have read it, never the system's queue states ("queued", "generating") or "not started" for
 * "not written yet". A failed attempt being retried is still being written (its notice says more). */
export function lessonState(
  lesson: Pick<LessonSummary, "status" | "priority" | "error">,
  read = false,
  t: Translator["t"] = ENGLISH_T,
): { label: string; tone: string } {
  if (read) return { label: t("status.read"), tone: "done" };
  switch (lesson.status) {
    case "GENERATED":
      return { label: t("status.ready"), tone: "ok" };
    case "GENERATING":
      return { label: t("status.beingWritten"), tone: "busy" };
    case "FAILED":
      return { label: t("status.failed"), tone: "bad" };
    default:
      return lesson.priority || lesson.error
        ? { label: t("status.beingWritten"), tone: "busy" }
        : { label: t("status.notWritten"), tone: "idle" };
  }
}

export function Badge({ label, tone }: { label: string; tone: string }) {
  return <span className={`badge ${tone}`}>{label}</span>;
}

/** 4xx in the API's own words; 503 and network errors as a retrying state, never a blank page. */
export function ErrorNotice({ error }: { error: unknown }) {
  const { t } = useT();
  if (error instanceof ApiError && error.isUnavailable) {
    return (
      <p role="status" className="notice retrying">
        {error.retryAfter ? t("error.unavailableIn", { s: error.retryAfter }) : t("error.unavailable")}
      </p>
    );
  }
  if (error instanceof ApiError && error.isRateLimited) {
    return (
      <p role="status" className="notice retrying">
        {error.message}
        {error.retryAfter ? ` ${t("error.tryingAgainIn", { s: error.retryAfter })}` : ""}
      </p>
    );
  }
  const message = error instanceof ApiError ? error.message : t("error.generic");
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
