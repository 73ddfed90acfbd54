import type {
  CourseDetail,
  CoursePage,
  CourseProgress,
  CourseSearchResults,
  CourseSummary,
  CreateCourse,
  DueCards,
  FieldProblem,
  Lesson,
  LessonProgress,
  LessonVersionRead,
  OutlineEdit,
  ProgressOverview,
  ProgressUpdate,
  QuestionThread,
  QuestionView,
  ReviewCard,
  ReviewRating,
  ShareLink,
  Source,
  SourceList,
  SourceUpload,
  CreateSource,
} from "./types";

/** An error the API answered with: status, its machine-readable code and its own words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
  }

  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }

  get isUnavailable(): boolean {
    return this.status === 503 || this.status === 0;
  }

  /** A per-user limit (429): worth retrying after Retry-After, like an outage. */
  get isRateLimited(): boolean {
    return this.status === 429;
  }
}

export interface Fetched<T> {
  status: number;
  data: T;
  retryAfter: number | null;
}

export type TokenSource = () => Promise<string>;

function retryAfterOf(response: Response): number | null {
  const value = response.headers.get("retry-after");
  const seconds = value === null ? NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** What the learner is told when the session ended (a 401, wherever it is noticed). */
export const SESSION_ENDED = "Your session ended; sign in again to continue.";

export class FlowgenApi {
  private readonly answered = new Set<(status: number) => void>();

  constructor(
    private readonly baseUrl: string,
    private readonly token: TokenSource,
    private readonly onCall: (path: string) => void = () => {},
  ) {}

  /** Called with each answer's status, once the API has answered a call; returns the unsubscribe. */
  onAnswer(listener: (status: number) => void): () => void {
    this.answered.add(listener);
    return () => this.answered.delete(listener);
  }

  private async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Fetched<T>> {
    const { status, text, retryAfter } = await this.send(method, path, body, headers);
    return { status, data: (text ? JSON.parse(text) : null) as T, retryAfter };
  }

  /** One call; an answer other than 2xx is thrown as an ApiError with the API's code and words. */
  private async send(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; text: string; retryAfter: number | null; response: Response }> {
    this.onCall(path);
    let token: string;
    try {
      token = await this.token();
    } catch {
      // no token to be had without signing in again (Auth0: the refresh token expired or was revoked)
      throw new ApiError(401, "token_expired", SESSION_ENDED);
    }
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "network", "FlowGen cannot be reached right now.");
    }
    // the API answered (whatever it said): the connection works, what waits on this device can go
    for (const listener of this.answered) listener(response.status);
    const retryAfter = retryAfterOf(response);
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null; // a gateway's plain-text answer
    }
    if (!response.ok) {
      const error = json?.error ?? { code: response.status === 403 ? "forbidden" : "error", message: json?.message ?? response.statusText };
      const details = Array.isArray(error.details) ? (error.details as FieldProblem[]) : [];
      throw new ApiError(response.status, error.code, error.message, retryAfter, details);
    }
    return { status: response.status, text, retryAfter, response };
  }

  listCourses(cursor?: string | null, limit = 10) {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    return this.request<CoursePage>("GET", `/courses?${query}`);
  }

  createCourse(body: CreateCourse, idempotencyKey: string) {
    return this.request<CourseSummary>("POST", "/courses", body, { "idempotency-key": idempotencyKey });
  }

  getCourse(id: string) {
    return this.request<CourseDetail>("GET", `/courses/${id}`);
  }

  deleteCourse(id: string) {
    return this.request<null>("DELETE", `/courses/${id}`);
  }

  /** The course as one Markdown file, and the file name the API suggests. */
  async exportCourse(id: string): Promise<{ filename: string; markdown: string }> {
    const { text, response } = await this.send("GET", `/courses/${id}/export.md`);
    const named = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "");
    return { filename: named?.[1] ?? "course.md", markdown: text };
  }

  retryCourse(id: string) {
    return this.request<CourseSummary>("POST", `/courses/${id}/retry`);
  }

  /** Opening a lesson promotes it: 202 with Retry-After until it is generated. */
  openLesson(courseId: string, lessonId: string) {
    return this.request<Lesson>("GET", `/courses/${courseId}/lessons/${lessonId}`);
  }

  retryLesson(courseId: string, lessonId: string) {
    return this.request<Lesson>("POST", `/courses/${courseId}/lessons/${lessonId}/retry`);
  }

  /** Writes the lesson again with an instruction (202 while it is written); the current version is kept. */
  regenerateLesson(courseId: string, lessonId: string, instruction: string, version?: number) {
    return this.request<Lesson>("POST", `/courses/${courseId}/lessons/${lessonId}/regenerate`, {
      instruction,
      ...(version ? { version } : {}),
    });
  }

  /** Back to an earlier version; the one left is kept. */
  selectLessonVersion(courseId: string, lessonId: string, version: number) {
    return this.request<Lesson>("PUT", `/courses/${courseId}/lessons/${lessonId}/version`, { version });
  }

  /** One version of the lesson as written, the current one or an earlier one it keeps (reads only:
   * nothing is asked to be written). 404 `version_not_kept` for one the lesson no longer keeps. */
  lessonVersion(courseId: string, lessonId: string, version: number) {
    return this.request<LessonVersionRead>("GET", `/courses/${courseId}/lessons/${lessonId}/versions/${version}`);
  }

  /** One edit of the whole outline, guarded by the course's version (a stale one is a 409). */
  editOutline(courseId: string, edit: OutlineEdit) {
    return this.request<CourseDetail>("PATCH", `/courses/${courseId}/outline`, edit);
  }

  /** Idempotent: the same update twice changes nothing; a quiz is graded by the API. */
  putProgress(courseId: string, lessonId: string, update: ProgressUpdate) {
    return this.request<LessonProgress>("PUT", `/courses/${courseId}/lessons/${lessonId}/progress`, update);
  }

  getCourseProgress(courseId: string) {
    return this.request<CourseProgress>("GET", `/courses/${courseId}/progress`);
  }

  /** Asks about a written lesson: 202 with the question QUEUED; its answer is written meanwhile. */
  askQuestion(courseId: string, lessonId: string, question: string) {
    return this.request<QuestionView>("POST", `/courses/${courseId}/lessons/${lessonId}/questions`, { question });
  }

  /** The thread, oldest first; Retry-After while any question is still being answered. */
  listQuestions(courseId: string, lessonId: string) {
    return this.request<QuestionThread>("GET", `/courses/${courseId}/lessons/${lessonId}/questions`);
  }

  getProgressOverview() {
    return this.request<ProgressOverview>("GET", "/progress");
  }

  /** The caller's due flashcards, oldest due first, and how many are due in all (issue 23). */
  dueCards(limit = 20, courseId?: string) {
    const query = new URLSearchParams({ limit: String(limit), ...(courseId ? { courseId } : {}) });
    return this.request<DueCards>("GET", `/reviews/due?${query}`);
  }

  /** A review (FSRS on the server): the same key for the same review reviews once. */
  reviewCard(cardId: string, rating: ReviewRating, idempotencyKey: string) {
    return this.request<ReviewCard>("POST", `/reviews/${cardId}`, { rating }, { "idempotency-key": idempotencyKey });
  }

  /** The course's written lessons that mention `q`, best first (issue 26). */
  searchCourse(courseId: string, q: string) {
    return this.request<CourseSearchResults>("GET", `/courses/${courseId}/search?${new URLSearchParams({ q })}`);
  }

  /** The course's cards as a CSV Anki imports. */
  async exportCards(courseId: string): Promise<{ filename: string; csv: string }> {
    const { text, response } = await this.send("GET", `/courses/${courseId}/cards.csv`);
    const named = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "");
    return { filename: named?.[1] ?? "flowgen-cards.csv", csv: text };
  }

  /** Registers a file of the learner's (201): the source, UPLOADING, with the presigned POST form
   * the browser sends the file to (issue 24). */
  createSource(body: CreateSource) {
    return this.request<SourceUpload>("POST", "/sources", body);
  }

  /** The caller's sources, newest first, and their storage. */
  listSources() {
    return this.request<SourceList>("GET", "/sources");
  }

  /** One source: UPLOADING, INGESTING, READY (pages, chunks) or FAILED with a reason. */
  getSource(id: string) {
    return this.request<Source>("GET", `/sources/${id}`);
  }

  deleteSource(id: string) {
    return this.request<null>("DELETE", `/sources/${id}`);
  }

  /** The course's share link (201): its one live link, made now or the one it has. */
  shareCourse(courseId: string) {
    return this.request<ShareLink>("POST", `/courses/${courseId}/share`);
  }

  /** The link stops working at once. */
  stopSharing(courseId: string) {
    return this.request<null>("DELETE", `/courses/${courseId}/share`);
  }

  /** A shared course made the caller's own (202): the same key for the same intent makes one. */
  forkShared(token: string, idempotencyKey: string) {
    return this.request<CourseSummary>("POST", `/shared/${encodeURIComponent(token)}/fork`, undefined, {
      "idempotency-key": idempotencyKey,
    });
  }
}
