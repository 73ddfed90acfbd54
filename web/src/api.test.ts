import { ApiError, FlowgenApi } from "./api/client";

function respond(status: number, body: unknown, headers: Record<string, string> = {}) {
  return vi.fn().mockResolvedValue(new Response(body === null ? null : JSON.stringify(body), { status, headers }));
}

describe("api client", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends the bearer token and the idempotency key", async () => {
    const fetchMock = respond(202, { id: "c1" });
    vi.stubGlobal("fetch", fetchMock);
    await new FlowgenApi("http://api", async () => "tok").createCourse({ prompt: "Rust" }, "key-1");
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("http://api/courses");
    expect(init.headers).toMatchObject({ authorization: "Bearer tok", "idempotency-key": "key-1" });
  });

  it("keeps the API's words and Retry-After on errors", async () => {
    vi.stubGlobal("fetch", respond(503, { error: { code: "mongo_unavailable", message: "mongo is unavailable" } }, { "retry-after": "5" }));
    const error = await new FlowgenApi("", async () => "t").getCourse("c").catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.message, error.retryAfter, error.isUnavailable]).toEqual([503, "mongo_unavailable", "mongo is unavailable", 5, true]);
  });

  it("treats the gateway's 401/403 as an expired session", async () => {
    vi.stubGlobal("fetch", respond(403, { message: "Forbidden" }));
    const error = await new FlowgenApi("", async () => "t").listCourses().catch((e) => e);
    expect(error.isAuth).toBe(true);
  });

  it("returns 202 with Retry-After for a lesson being written", async () => {
    vi.stubGlobal("fetch", respond(202, { status: "PENDING" }, { "retry-after": "2" }));
    const fetched = await new FlowgenApi("", async () => "t").openLesson("c", "m01-l01");
    expect([fetched.status, fetched.retryAfter]).toEqual([202, 2]);
  });

  it("sends JSON of the types the API checks strictly: booleans, integers, nulls", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ lessonId: "m01-l01" }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const api = new FlowgenApi("", async () => "t");
    await api.putProgress("c", "m01-l01", { quiz: { answers: [1, null, 0], reveal: false } });
    await api.putProgress("c", "m01-l01", { completed: true });
    await api.putProgress("c", "m01-l01", { opened: true });
    await api.selectLessonVersion("c", "m01-l01", 2);
    await api.regenerateLesson("c", "m01-l01", "Simpler", 3);
    const calls = fetchMock.mock.calls as unknown as [string, { body: string; headers: Record<string, string> }][];
    const bodies = calls.map(([, init]) => init.body);
    expect(bodies).toEqual([
      '{"quiz":{"answers":[1,null,0],"reveal":false}}',
      '{"completed":true}',
      '{"opened":true}',
      '{"version":2}',
      '{"instruction":"Simpler","version":3}',
    ]);
    expect(calls.every(([, init]) => init.headers["content-type"] === "application/json")).toBe(true);
  });

  it("says the session ended when no token can be had (Auth0: the refresh token expired)", async () => {
    const fetchMock = respond(200, {});
    vi.stubGlobal("fetch", fetchMock);
    const error = await new FlowgenApi("", async () => Promise.reject(new Error("missing_refresh_token"))).listCourses().catch((e) => e);
    expect([error.status, error.code, error.isAuth, error.message]).toEqual([401, "token_expired", true, "Your session ended; sign in again to continue."]);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("tells its listeners each time the API answered, not when the network failed", async () => {
    const api = new FlowgenApi("", async () => "t");
    const heard = vi.fn();
    const off = api.onAnswer(heard);
    vi.stubGlobal("fetch", respond(200, { items: [] }));
    await api.listCourses();
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("Failed to fetch")));
    const error = await api.listCourses().catch((e) => e);
    expect([error.status, error.code]).toEqual([0, "network"]);
    off();
    vi.stubGlobal("fetch", respond(200, { items: [] }));
    await api.listCourses();
    expect(heard.mock.calls).toEqual([[200]]);
  });
});
