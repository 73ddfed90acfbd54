// Sends what waits on this device (src/outbox.ts): when the app starts signed in (after an
// expired session, say), when the browser is back online, after the next call the API answered,
// and every 30 s while something waits. Each is sent once; a refusal is kept with its reason
// for the learner to read.
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { ApiError, type FlowgenApi } from "../api/client";
import type { CourseProgress } from "../api/types";
import { useApi, useOutbox } from "../context";
import { isOffline, type Outbox, type Pending } from "../outbox";
import { keys } from "./keys";
import { mergeProgress } from "./progress";
import { showAsked } from "./questions";

/** After a try that could not get through, the next answered call sends again no sooner than this. */
const RESEND_AFTER_MS = 5000;
/** Without an answered call or an `online` event, what waits is tried again this often. */
const AGAIN_EVERY_MS = 30_000;

/** Sends one; false when it could not get through (the rest waits too). */
async function sendOne(api: FlowgenApi, outbox: Outbox, client: QueryClient, item: Pending, onSessionEnded: () => void): Promise<boolean> {
  try {
    if (item.kind === "quiz") {
      const { data } = await api.putProgress(item.courseId, item.lessonId, { quiz: { answers: item.answers, reveal: item.reveal } });
      client.setQueryData<CourseProgress>(keys.courseProgress(item.courseId), (current) => (current ? mergeProgress(current, data) : current));
      void client.invalidateQueries({ queryKey: keys.progress() });
    } else {
      const { data } = await api.askQuestion(item.courseId, item.lessonId, item.question);
      showAsked(client, item.courseId, item.lessonId, data);
    }
    outbox.remove(item);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.isAuth) {
      onSessionEnded();
      return false;
    }
    if (!(error instanceof ApiError) || error.status === 0 || error.isRateLimited || error.status >= 500) return false;
    outbox.fail(item, error.message); // refused (the lesson was removed or rewritten): said, not sent again
    return true;
  }
}

/** Sends everything waiting, one at a time, oldest first; `force`: whatever the last try was. */
export function outboxSender(api: FlowgenApi, outbox: Outbox, client: QueryClient, onSessionEnded: () => void) {
  let sending = false;
  let lastTry = 0;
  return async (force: boolean): Promise<void> => {
    const due = outbox.pending().filter((item) => !item.failed);
    if (sending || due.length === 0 || isOffline()) return;
    if (!force && Date.now() - lastTry < RESEND_AFTER_MS) return;
    sending = true;
    lastTry = Date.now();
    try {
      for (const item of due) if (!(await sendOne(api, outbox, client, item, onSessionEnded))) break;
    } finally {
      sending = false;
    }
  };
}

/** Mounted once while signed in: sends what waits, now and whenever the connection is back. */
export function useOutboxSender(onSessionEnded: () => void): void {
  const api = useApi();
  const outbox = useOutbox();
  const client = useQueryClient();
  useEffect(() => {
    const send = outboxSender(api, outbox, client, onSessionEnded);
    const online = () => void send(true);
    window.addEventListener("online", online);
    const off = api.onAnswer((status) => {
      if (status < 400) void send(false);
    });
    // and now and then, on a screen that polls nothing (a written lesson) while the API was down
    const timer = setInterval(() => void send(false), AGAIN_EVERY_MS);
    void send(true);
    return () => {
      window.removeEventListener("online", online);
      clearInterval(timer);
      off();
    };
  }, [api, outbox, client, onSessionEnded]);
}
