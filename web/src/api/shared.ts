// The routes anyone with a share link may call, without signing in (issue 22): no Authorization
// header is sent, whoever is signed in. Errors are the API's, as ApiError (a dead link is a 404
// `share_not_found`, a malformed one a 400; a 429 says when to try again).
import { ApiError, type Fetched } from "./client";
import type { QuizGrade, SharedCourse, SharedLesson } from "./types";

export class SharedApi {
  constructor(private readonly baseUrl: string) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<Fetched<T>> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "network", "FlowGen cannot be reached right now.");
    }
    const header = response.headers.get("retry-after");
    const retryAfter = header !== null && Number.isFinite(Number(header)) ? Number(header) : null;
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null; // a gateway's plain-text answer
    }
    if (!response.ok) {
      const error = json?.error ?? { code: "error", message: json?.message ?? response.statusText };
      throw new ApiError(response.status, error.code, error.message, retryAfter);
    }
    return { status: response.status, data: json as T, retryAfter };
  }

  course(token: string) {
    return this.request<SharedCourse>("GET", `/shared/${encodeURIComponent(token)}`);
  }

  lesson(token: string, lessonId: string) {
    return this.request<SharedLesson>("GET", `/shared/${encodeURIComponent(token)}/lessons/${lessonId}`);
  }

  /** Graded by the API against the lesson; nothing is recorded for anyone. */
  checkQuiz(token: string, lessonId: string, answers: (number | null)[], reveal: boolean) {
    return this.request<QuizGrade>("POST", `/shared/${encodeURIComponent(token)}/lessons/${lessonId}/quiz`, {
      answers,
      reveal,
    });
  }
}

/** A share link's token, as the API issues it: 43 base64url characters. */
export function isShareToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
