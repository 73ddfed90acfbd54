import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { CourseDetail, ShareLink } from "../api/types";
import { useApi } from "../context";
import { keys } from "../queries/keys";
import { useFocusNext } from "../screen";
import { ErrorNotice } from "./Status";
import { useT } from "../i18n";

/** The link as the app opens it here: the API's, or (relative, or made under an earlier key) this
 * app's own address with the token. */
export function shareUrl(link: ShareLink, here: Location = window.location): string | null {
  if (!link.token) return null;
  if (link.url && /^https?:\/\//.test(link.url)) return link.url;
  return `${here.origin}${here.pathname}#/shared/${link.token}`;
}

/**
 * Share a course by link (issue 22): make the link, copy it, stop sharing. Its state is the
 * course view's (`share`): shared with its link shown, or not. Anyone with the link reads the
 * course and its written lessons without an account; never the learner's progress or questions.
 */
export function ShareControl({ course }: { course: CourseDetail }) {
  const { t } = useT();
  const api = useApi();
  const client = useQueryClient();
  const focus = useFocusNext();
  const [copied, setCopied] = useState(false);
  const setShare = (share: ShareLink | null) =>
    client.setQueryData<CourseDetail>(keys.course(course.id), (current) => (current ? { ...current, share } : current));
  const share = useMutation({
    mutationFn: () => api.shareCourse(course.id).then((r) => r.data),
    onSuccess: (link) => {
      setCopied(false);
      setShare(link);
    },
  });
  const stop = useMutation({
    mutationFn: () => api.stopSharing(course.id),
    onSuccess: () => setShare(null),
  });
  const link = course.share ?? null;
  const url = link ? shareUrl(link) : null;
  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      // no clipboard here (an insecure page, a refusal): the link is selected to copy by hand
      const field = document.getElementById("share-link") as HTMLInputElement | null;
      field?.select();
    }
  };
  return (
    <section className="share-control no-print" aria-label={t("share.region")}>
      {link ? (
        <div tabIndex={-1} ref={focus.ref} key="shared">
          <p className="share-state" role="status">
            <strong>{t("share.shared")}</strong> {t("share.sharedText")}
          </p>
          {url ? (
            <div className="share-link">
              <label htmlFor="share-link">{t("share.link")}</label>
              <input id="share-link" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
              <button type="button" onClick={() => void copy()}>
                {copied ? t("share.copied") : t("share.copy")}
              </button>
            </div>
          ) : (
            <p className="hint">
              {t("share.oldKey")}{" "}
              <button type="button" className="link" onClick={() => share.mutate()} disabled={share.isPending}>
                {t("share.again")}
              </button>
            </p>
          )}
          <button
            type="button"
            className="secondary danger"
            disabled={stop.isPending}
            onClick={() => {
              focus.request();
              stop.mutate();
            }}
          >
            {stop.isPending ? t("share.stopping") : t("share.stop")}
          </button>
          {copied && (
            <span className="hint" role="status">
              {" "}
              {t("share.onClipboard")}
            </span>
          )}
        </div>
      ) : (
        <div tabIndex={-1} ref={focus.ref} key="not-shared">
          <button
            type="button"
            className="secondary"
            disabled={share.isPending}
            onClick={() => {
              focus.request();
              share.mutate();
            }}
          >
            {share.isPending ? t("share.sharing") : t("share.share")}
          </button>{" "}
          <span className="hint">{t("share.notShared")}</span>
        </div>
      )}
      {share.error && <ErrorNotice error={share.error} />}
      {stop.error && <ErrorNotice error={stop.error} />}
    </section>
  );
}
