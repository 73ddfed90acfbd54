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

/** A link that leads nowhere (unknown, revoked, mistyped): one page, whatever the reason. */
export function SharedNotFound() {
  useTitle("Shared course not found");
  return (
    <main id="main">
      <PageHeading>Shared course not found</PageHeading>
      <p>This link does not lead to a shared course: it may be mistyped, or its owner stopped sharing it.</p>
      <p>
        <Link to="/">Go to FlowGen</Link>
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
  const session = useSession();
  const navigate = useNavigate();
  const start = () => {
    keepForkIntent(token, title); // the signed-in app forks it on arrival (ForkAfterSignIn)
    if (!session.user && session.mode === "auth0") void session.signIn();
    else navigate("/");
  };
  return (
    <section className="make-yours no-print" aria-label="Make it yours">
      <button type="button" onClick={start}>
        Make it yours
      </button>
      <p className="hint">
        {session.user
          ? "A copy in your courses: its written lessons as they are, the others written when you open them, with your progress."
          : "Sign in to get your own copy: its written lessons as they are, the others written when you open them, with your progress."}
      </p>
    </section>
  );
}
