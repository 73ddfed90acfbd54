import { Link, useLocation } from "react-router-dom";
import { usePending } from "../context";
import { useT, type Translator } from "../i18n";
import type { Pending } from "../outbox";

function what(item: Pending, t: Translator["t"]): string {
  return item.kind === "quiz" ? t("outbox.quiz") : t("outbox.question");
}

/** On every screen while something waits on this device, or was refused: what, and where. The
 * lesson's own screen says it beside the quiz or the question, so only others are linked. */
export function OutboxNotice() {
  const { t } = useT();
  const pending = usePending();
  const { pathname } = useLocation();
  const elsewhere = pending.filter((item) => pathname !== `/courses/${item.courseId}/lessons/${item.lessonId}`);
  if (elsewhere.length === 0) return null;
  return (
    <aside className="outbox no-print" aria-label={t("outbox.region")}>
      {elsewhere.map((item, i) => (
        <p key={i} className={item.failed ? "notice error" : "notice retrying"}>
          {what(item, t)}: {item.failed ? t("outbox.notSent", { why: item.failed }) : t("outbox.saved")}{" "}
          <Link to={`/courses/${item.courseId}/lessons/${item.lessonId}`}>{t("outbox.open")}</Link>
        </p>
      ))}
    </aside>
  );
}
