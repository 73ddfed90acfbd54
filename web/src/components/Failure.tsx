import { useMemo } from "react";
import { failedSentence, retryingSentence, untilRetry, useNow, type Attempted, type Subject } from "../failures";
import { useT } from "../i18n";
import { ErrorNotice } from "./Status";

/**
 * A failed attempt that the system retries: the API's reason, when the next attempt starts and its
 * number. The countdown ticks for the eye; a screen reader hears the sentence once per attempt
 * (a live region that ticked would be read out every second). `live={false}` in a list's rows.
 */
export function RetryingNotice({ subject, item, live = true }: { subject: Subject; item: Attempted; live?: boolean }) {
  const translator = useT();
  const now = useNow(untilRetry(item, Date.now()) !== null);
  const shown = retryingSentence(subject, item, now, translator);
  const spoken = useMemo(
    () => retryingSentence(subject, item, Date.now(), translator),
    [subject, item.status, item.error, item.attempts, item.retryAt, item.maxAttempts, translator],
  );
  if (!shown) return null;
  if (!live) return <p className="notice retrying failure">{shown}</p>;
  return (
    <div className="notice retrying failure">
      <p aria-hidden="true">{shown}</p>
      <p role="status" className="visually-hidden">
        {spoken}
      </p>
    </div>
  );
}

/** A final failure: the API's reason (it says how often it was tried) and a Retry button. */
export function FailedNotice({
  subject,
  item,
  onRetry,
  busy,
  error,
  label,
  alert = false,
}: {
  subject: Subject;
  item: Attempted;
  onRetry: () => void;
  busy: boolean;
  error?: unknown;
  /** The button's name where several are on one screen, e.g. `Retry “Rust ownership”`. */
  label?: string;
  /** On the screen of the one thing that failed: said at once when it fails while watched. */
  alert?: boolean;
}) {
  const translator = useT();
  const { t } = translator;
  return (
    <div className="notice error failure" role={alert ? "alert" : undefined}>
      <p>
        {failedSentence(subject, item, translator)}{" "}
        <button type="button" onClick={onRetry} disabled={busy} aria-label={label}>
          {busy ? t("common.retrying") : t("common.retry")}
        </button>
      </p>
      {error ? <ErrorNotice error={error} /> : null}
    </div>
  );
}
