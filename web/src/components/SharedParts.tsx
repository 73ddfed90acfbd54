// What the shared screens have in common (issue 22): the dead-link page, the course query (the
// lesson screen reads the course's title from it) and "Make it yours".
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { isShareToken } from "../api/shared";
import { keepForkIntent } from "../fork";
import { useTitle } from "../screen";
import { useSession } from "../session";
import { sharedKeys, useSharedApi } from "../sharedContext";
import { PageHeading } from "./Heading";
import { InterfaceLanguage, useT } from "../i18n";

/** A link that leads nowhere (unknown, revoked, mistyped): one page, whatever the reason. */
export function SharedNotFound() {
  return (
    <InterfaceLanguage>
      <DeadLink />
    </InterfaceLanguage>
  );
}

function DeadLink() {
  const { t, lang } = useT();
  useTitle(t("shared.notFound"));
  return (
    <main id="main" lang={lang}>
      <PageHeading>{t("shared.notFound")}</PageHeading>
      <p>{t("shared.notFoundText")}</p>
      <p>
        <Link to="/">{t("shared.goHome")}</Link>
      </p>
    </main>
  );
}

/** A dead or malformed link: the API's 404, or a 400 for a token of the wrong shape. */
export function isDeadLink(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 400);
}

export function useSharedCourse(token: string) {
  const api = useSharedApi();
  return useQuery({
    queryKey: sharedKeys.course(token),
    queryFn: () => api.course(token).then((r) => r.data),
    enabled: isShareToken(token),
  });
}

/** "Make it yours": signed in, the copy is made at once; signed out, after signing in. */
export function MakeItYours({ token, title }: { token: string; title: string }) {
  const { t } = useT();
  const session = useSession();
  const navigate = useNavigate();
  const start = () => {
    keepForkIntent(token, title); // the signed-in app forks it on arrival (ForkAfterSignIn)
    if (!session.user && session.mode === "auth0") void session.signIn();
    else navigate("/");
  };
  return (
    <section className="make-yours no-print" aria-label={t("rewrite.heading")}>
      <button type="button" onClick={start}>
        {t("rewrite.heading")}
      </button>
      <p className="hint">
        {session.user
          ? t("shared.copySignedIn")
          : t("shared.copySignedOut")}
      </p>
    </section>
  );
}
