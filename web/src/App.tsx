import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useMemo } from "react";
import { HashRouter, Link, Navigate, Route, Routes } from "react-router-dom";
import { ApiError, FlowgenApi } from "./api";
import { SessionProvider, useSession } from "./auth";
import type { AppConfig } from "./config";
import { ApiContext } from "./context";
import { CourseView } from "./pages/CourseView";
import { Courses } from "./pages/Courses";
import { LessonView } from "./pages/LessonView";
import { NewCourse } from "./pages/NewCourse";
import { SignIn } from "./pages/SignIn";

function retryDelay(attempt: number, error: unknown): number {
  if (error instanceof ApiError && error.retryAfter) return error.retryAfter * 1000;
  return Math.min(30_000, 1000 * 2 ** attempt);
}

function SignedIn({ config }: { config: AppConfig }) {
  const session = useSession();
  const client = useMemo(() => {
    // an expired or refused session goes back to sign in, wherever it is noticed
    const onError = (error: unknown) => {
      if (error instanceof ApiError && error.isAuth) session.signOut();
    };
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: {
        queries: {
          // 503s and network errors are retried (honouring Retry-After); 4xx are shown at once
          retry: (count, error) => error instanceof ApiError && error.isUnavailable && count < 20,
          retryDelay,
          refetchOnWindowFocus: true,
        },
      },
    });
  }, [session]);
  const api = useMemo(() => new FlowgenApi(config.apiUrl, session.token), [config.apiUrl, session.token]);
  return (
    <QueryClientProvider client={client}>
      <ApiContext.Provider value={api}>
        <header className="top">
          <Link to="/" className="brand">
            FlowGen
          </Link>
          <span className="who">{session.user}</span>
          <button type="button" className="link" onClick={session.signOut}>
            Sign out
          </button>
        </header>
        <Routes>
          <Route path="/" element={<Courses />} />
          <Route path="/new" element={<NewCourse />} />
          <Route path="/courses/:courseId" element={<CourseView />} />
          <Route path="/courses/:courseId/lessons/:lessonId" element={<LessonView />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </ApiContext.Provider>
    </QueryClientProvider>
  );
}

function Gate({ config }: { config: AppConfig }) {
  const session = useSession();
  if (!session.ready) return <p>Loading…</p>;
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
