import { Link, useLocation } from "react-router-dom";
import { usePending } from "../context";
import { SAVED_ON_DEVICE, type Pending } from "../outbox";

function what(item: Pending): string {
  return item.kind === "quiz" ? "Your quiz answers" : "Your question";
}

/** On every screen while something waits on this device, or was refused: what, and where. The
 * lesson's own screen says it beside the quiz or the question, so only others are linked. */
export function OutboxNotice() {
  const pending = usePending();
  const { pathname } = useLocation();
  const elsewhere = pending.filter((item) => pathname !== `/courses/${item.courseId}/lessons/${item.lessonId}`);
  if (elsewhere.length === 0) return null;
  return (
    <aside className="outbox no-print" aria-label="Waiting on this device">
      {elsewhere.map((item, i) => (
        <p key={i} className={item.failed ? "notice error" : "notice retrying"}>
          {what(item)}: {item.failed ? `not sent: ${item.failed}` : SAVED_ON_DEVICE}{" "}
          <Link to={`/courses/${item.courseId}/lessons/${item.lessonId}`}>Open the lesson</Link>
        </p>
      ))}
    </aside>
  );
}
