import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { useApi } from "../context";
import { clearForkIntent, forkIntent, type ForkIntent } from "../fork";
import { keys } from "../queries/keys";
import { useT } from "../i18n";

/**
 * Mounted in the signed-in app: a shared course someone asked to make theirs (before signing in,
 * or from the shared page while signed in) is forked now, once, and its copy opened. A dead link
 * or a refusal is said, and forgotten; an outage keeps it to try again on the next arrival.
 */
export function ForkAfterSignIn() {
  const { t } = useT();
  const api = useApi();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [intent, setIntent] = useState<ForkIntent | null>(forkIntent);
  const sent = useRef(false);
  const fork = useMutation({
    mutationFn: (wanted: ForkIntent) => api.forkShared(wanted.token, wanted.key),
    onSuccess: ({ data }) => {
      clearForkIntent();
      setIntent(null);
      void client.invalidateQueries({ queryKey: keys.courses() });
      navigate(`/courses/${data.id}`);
    },
    onError: (error) => {
      if (!(error instanceof ApiError && (error.isUnavailable || error.isRateLimited || error.isAuth))) clearForkIntent();
    },
  });
  useEffect(() => {
    if (intent && !sent.current) {
      sent.current = true;
      fork.mutate(intent);
    }
  }, [intent, fork]);
  if (!intent) return null;
  const title = intent.title ? `“${intent.title}”` : t("fork.theShared");
  if (fork.error) {
    const missing = fork.error instanceof ApiError && (fork.error.status === 404 || fork.error.status === 400);
    return (
      <div role="alert" className="notice error fork-notice">
        <p>
          {t("fork.failed", { title, why: missing ? t("fork.gone") : fork.error.message })}
        </p>
        <button type="button" className="secondary" onClick={() => setIntent(null)}>
          {t("ask.dismiss")}
        </button>
      </div>
    );
  }
  return (
    <p role="status" className="notice building fork-notice">
      <span className="spinner" aria-hidden="true" /> {t("fork.making", { title })}
    </p>
  );
}
