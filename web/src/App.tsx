import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useCallback, useEffect, useMemo, type MouseEvent } from "react";
import { HashRouter, Link, Route, Routes, useLocation } from "react-router-dom";
import { ForkAfterSignIn } from "./components/ForkAfterSignIn";
import { ApiError, FlowgenApi } from "./api/client";
import { SessionProvider } from "./auth";
import { clearSessionEnded, markSessionEnded, useSession } from "./session";
import type { AppConfig } from "./config";
import { ApiContext, OutboxContext } from "./context";
import { NotFound } from "./components/NotFound";
import { OutboxNotice } from "./components/OutboxNotice";
import { Outbox } from "./outbox";
import { useOutboxSender } from "./queries/outbox";
import { CourseView } from "./pages/CourseView";
import { Courses } from "./pages/Courses";
import { NewCourse } from "./pages/NewCourse";
import { Review } from "./pages/Review";
import { SignIn } from "./pages/SignIn";
import { requestHeadingFocus } from "./screen";
import { ThemeToggle } from "./theme";
import { InterfaceLanguage, useT } from "./i18n";

// The lesson screen (markdown, and highlighting after it) loads on demand, not on first load.
const LessonView = lazy(() => import("./pages/LessonView").then((module) => ({ default: module.LessonView })));
const PrintCourse = lazy(() => import("./pages/PrintCourse").then((module) => ({ default: module.PrintCourse })));
// A share link's screens (#/shared/<token>): anyone's, signed in or not, loaded when opened.
const SharedScreens = lazy(() => import("./pages/Shared"));

/** After every navigation (and on arrival once signed in) the new screen's heading gets focus. */
function RouteFocus() {
  const { pathname } = useLocation();
  useEffect(() => requestHeadingFocus(), [pathname]);
  return null;
}

function skipToContent(event: MouseEvent) {
  event.preventDefault(); // a hash link would change the route
  const main = document.getElementById("main");
  if (!main) return;
  main.tabIndex = -1;
  main.focus();
}

function SkipLink() {
  const { t } = useT();
  return (
    <a className="skip-link no-print" href="#main" onClick={skipToContent}>
      {t("nav.skip")}
    </a>
  );
}

function SignOut({ onClick }: { onClick: () => void }) {
  const { t } = useT();
  return (
    <button type="button" className="link" onClick={onClick}>
      {t("nav.signOut")}
    </button>
  );
}

function retryDelay(attempt: number, error: unknown): number {
  if (error instanceof ApiError && error.retryAfter) return error.retryAfter * 1000;
  return Math.min(30_000, 1000 * 2 ** attempt);
}

/** Sends what waits on this device (mounted once, inside the providers it needs). */
function OutboxSender({ onSessionEnded }: { onSessionEnded: () => void }) {
  useOutboxSender(onSessionEnded);
  return null;
}

function SignedIn({ config }: { config: AppConfig }) {
  const session = useSession();
  // what the learner sent and could not reach the API, and drafts: this user's, on this device
  const outbox = useMemo(() => new Outbox(session.user ?? ""), [session.user]);
  useEffect(() => clearSessionEnded(), []);
  // an expired or refused session goes back to sign in, saying so, wherever it is noticed
  const endSession = useCallback(() => {
    markSessionEnded({ user: session.user ?? "", kept: outbox.pending().some((item) => !item.failed) });
    session.signOut();
  }, [outbox, session]);
  const client = useMemo(() => {
    const onError = (error: unknown) => {
      if (error instanceof ApiError && error.isAuth) endSession();
    };
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: {
        queries: {
          // 503s, 429s and network errors are retried (honouring Retry-After); other 4xx are shown at once
          retry: (count, error) =>
            error instanceof ApiError && (error.isUnavailable || error.isRateLimited) && count < 20,
          retryDelay,
          refetchOnWindowFocus: true,
        },
      },
    });
  }, [endSession]);
  const api = useMemo(() => new FlowgenApi(config.apiUrl, session.token), [config.apiUrl, session.token]);
  return (
    <QueryClientProvider client={client}>
      <ApiContext.Provider value={api}>
        <OutboxContext.Provider value={outbox}>
          <OutboxSender onSessionEnded={endSession} />
          {/* the top bar and notices in the browser's language (a course's screen sets its own) */}
          <InterfaceLanguage>
            <SkipLink />
            <RouteFocus />
            <header className="top no-print">
              <Link to="/" className="brand">
                FlowGen
              </Link>
              <span className="who">{session.user}</span>
              <ThemeToggle />
              <SignOut onClick={session.signOut} />
            </header>
            <OutboxNotice />
            <ForkAfterSignIn />
          </InterfaceLanguage>
          <Routes>
            <Route path="/" element={<Courses />} />
            <Route path="/new" element={<NewCourse />} />
            <Route path="/review" element={<Review />} />
            <Route path="/courses/:courseId" element={<CourseView />} />
            <Route
              path="/courses/:courseId/lessons/:lessonId"
              element={
                <Suspense fallback={<main id="main" className="lesson"><p>Loading…</p></main>}>
                  <LessonView />
                </Suspense>
              }
            />
            <Route
              path="/courses/:courseId/print"
              element={
                <Suspense fallback={<main id="main"><p>Loading…</p></main>}>
                  <PrintCourse />
                </Suspense>
              }
            />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </OutboxContext.Provider>
      </ApiContext.Provider>
    </QueryClientProvider>
  );
}

function Gate({ config }: { config: AppConfig }) {
  const session = useSession();
  const { pathname } = useLocation();
  if (!session.ready) return <p>Loading…</p>;
  if (pathname.startsWith("/shared/")) {
    return (
      <Suspense fallback={<p>Loading…</p>}>
        <RouteFocus />
        <SharedScreens config={config} />
      </Suspense>
    );
  }
  return session.user ? <SignedIn key={session.user} config={config} /> : <SignIn />;
}

export function App({ config }: { config: AppConfig }) {
  return (
    <SessionProvider config={config}>
      <HashRouter>
        <Gate config={config} />
      </HashRouter>
    </SessionProvider>
  );
}
