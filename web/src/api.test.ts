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
});
