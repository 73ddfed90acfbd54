import { SOURCE_MAX_BYTES, type Source } from "./api/types";
import { REFUSALS, kindOf, postToS3, readyIds, s3Message, uploadStep, type UploadEvent, type UploadRow } from "./upload";

const run = (events: UploadEvent[], rows: UploadRow[] = []) => events.reduce(uploadStep, rows);
const add = (key: string, filename = `${key}.pdf`, size = 1000, mime = "application/pdf"): UploadEvent => ({ type: "added", key, filename, size, mime });
const source = (over: Partial<Source>): Source => ({
  id: "s".repeat(32), filename: "notes.pdf", contentType: "application/pdf", size: 1000, status: "INGESTING", createdAt: "", ...over,
});

describe("what a file is, as the API is told", () => {
  it("goes by the name's extension, then the browser's type", () => {
    expect(kindOf("Notes.PDF", "")).toBe("application/pdf");
    expect(kindOf("guide.md", "")).toBe("text/markdown"); // browsers rarely type Markdown
    expect(kindOf("guide.markdown", "application/octet-stream")).toBe("text/markdown");
    expect(kindOf("readme", "text/plain; charset=utf-8")).toBe("text/plain");
    expect(kindOf("photo.jpg", "image/jpeg")).toBeNull();
    expect(kindOf("slides.pptx", "")).toBeNull();
  });
});

describe("the upload of a file, step by step", () => {
  it("goes registering, uploading with its progress, ingesting, then READY with its pages", () => {
    let rows = run([add("a")]);
    expect(rows[0]).toMatchObject({ phase: "registering", kind: "application/pdf", loaded: 0 });
    rows = run([{ type: "registered", key: "a", sourceId: "s1" }, { type: "progress", key: "a", loaded: 400 }], rows);
    expect(rows[0]).toMatchObject({ phase: "uploading", sourceId: "s1", loaded: 400 });
    // a late progress event never moves the bar back, nor past the file's size
    rows = run([{ type: "progress", key: "a", loaded: 300 }], rows);
    expect(rows[0].loaded).toBe(400);
    rows = run([{ type: "uploaded", key: "a" }], rows);
    expect(rows[0]).toMatchObject({ phase: "ingesting", loaded: 1000 });
    expect(readyIds(rows)).toEqual([]);
    rows = run([{ type: "polled", key: "a", source: source({ status: "INGESTING" }) }], rows);
    expect(rows[0].phase).toBe("ingesting");
    rows = run([{ type: "polled", key: "a", source: source({ status: "READY", pages: 12, chunkCount: 30 }) }], rows);
    expect(rows[0]).toMatchObject({ phase: "ready", pages: 12, chunkCount: 30 });
    expect(readyIds(rows)).toEqual(["s1"]);
  });

  it("ends FAILED with the worker's reason, and a late answer never undoes a settled row", () => {
    const reason = "no text could be extracted: is it a scanned PDF?";
    let rows = run([add("a"), { type: "registered", key: "a", sourceId: "s1" }, { type: "uploaded", key: "a" }]);
    rows = run([{ type: "polled", key: "a", source: source({ status: "FAILED", error: { code: "no_text", reason } }) }], rows);
    expect(rows[0]).toMatchObject({ phase: "failed", reason });
    rows = run([{ type: "polled", key: "a", source: source({ status: "READY" }) }, { type: "failed", key: "a", reason: "x" }], rows);
    expect(rows[0]).toMatchObject({ phase: "failed", reason });
    expect(readyIds(rows)).toEqual([]);
  });

  it("fails with S3's or the API's words when the upload is refused", () => {
    const rows = run([add("a"), { type: "registered", key: "a", sourceId: "s1" }, { type: "failed", key: "a", reason: "Policy expired." }]);
    expect(rows[0]).toMatchObject({ phase: "failed", reason: "Policy expired." });
  });

  it("refuses here, before anything is sent, what the API would refuse", () => {
    const rows = run([
      add("photo", "photo.jpg", 10, "image/jpeg"),
      add("empty", "empty.md", 0, ""),
      add("huge", "huge.pdf", SOURCE_MAX_BYTES + 1),
      add("limit", "limit.pdf", SOURCE_MAX_BYTES),
    ]);
    expect(rows.map((row) => [row.key, row.phase, row.reason])).toEqual([
      ["photo", "refused", REFUSALS.kind],
      ["empty", "refused", REFUSALS.empty],
      ["huge", "refused", REFUSALS.size],
      ["limit", "registering", null],
    ]);
  });

  it("takes at most 5 files a course; a failed or removed one frees its place", () => {
    let rows = run(["a", "b", "c", "d", "e", "f"].map((key) => add(key)));
    expect(rows.map((row) => row.phase)).toEqual(["registering", "registering", "registering", "registering", "registering", "refused"]);
    expect(rows[5].reason).toBe(REFUSALS.full);
    rows = run([{ type: "failed", key: "a", reason: "lost" }, add("g"), { type: "removed", key: "b" }, add("h")], rows);
    expect(rows.map((row) => `${row.key}:${row.phase}`)).toEqual([
      "a:failed", "c:registering", "d:registering", "e:registering", "f:refused", "g:registering", "h:registering",
    ]);
  });

  it("adds one of the learner's READY sources without an upload, once", () => {
    const ready = source({ id: "r".repeat(32), status: "READY", pages: 3, chunkCount: 4 });
    const rows = run([{ type: "picked", key: "p", source: ready }, { type: "picked", key: "q", source: ready }]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ phase: "ready", sourceId: ready.id, pages: 3 });
    expect(readyIds(rows)).toEqual([ready.id]);
  });
});

describe("the POST to S3", () => {
  it("sends the form's fields, then the file last, and reports the upload's progress", async () => {
    const sent: { url: string; body: FormData }[] = [];
    class FakeXhr {
      status = 0;
      responseText = "";
      upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      private url = "";
      open(_method: string, url: string) {
        this.url = url;
      }
      send(body: FormData) {
        sent.push({ url: this.url, body });
        this.upload.onprogress?.({ loaded: 2 });
        this.status = 204;
        this.onload?.();
      }
      abort() {}
    }
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const progress: number[] = [];
    await postToS3({ url: "http://s3.test/bucket", fields: { key: "sources/x", "Content-Type": "text/markdown", policy: "p" } }, new Blob(["# hi"]), (n) => progress.push(n));
    expect(sent[0].url).toBe("http://s3.test/bucket");
    expect([...sent[0].body.keys()]).toEqual(["key", "Content-Type", "policy", "file"]);
    expect(progress).toEqual([2]);
    vi.unstubAllGlobals();
  });

  it("reads S3's refusal", () => {
    expect(s3Message("<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>")).toBe(
      "Invalid according to Policy: Policy expired.",
    );
    expect(s3Message("nope")).toBeNull();
  });
});
