// A learner's files on their way to being sources (issue 24), one row each: checked here (kind
// and size, as the API checks them), registered (POST /sources: the presigned POST form), sent
// straight to S3 with upload progress, then ingested by the worker (GET /sources/{id} polled)
// until READY or FAILED with its reason. The rows change only through `uploadStep`, a pure
// function of the rows and one event, so every transition is tested without a network.
import { COURSE_MAX_SOURCES, SOURCE_MAX_BYTES, type Source, type SourceKind, type UploadForm } from "./api/types";

export type UploadPhase = "refused" | "registering" | "uploading" | "ingesting" | "ready" | "failed";

export interface UploadRow {
  /** This row's own id (the source's id is known once it is registered). */
  key: string;
  filename: string;
  size: number;
  kind: SourceKind | null;
  phase: UploadPhase;
  /** Bytes sent to S3 so far (uploading). */
  loaded: number;
  sourceId: string | null;
  pages: number | null;
  chunkCount: number | null;
  /** Why it cannot be used: a refusal here (`refused`: an i18n key's name), or the API's or the
   * worker's words (`failed`). */
  reason: string | null;
}

export type UploadEvent =
  | { type: "added"; key: string; filename: string; size: number; mime: string }
  | { type: "registered"; key: string; sourceId: string }
  | { type: "progress"; key: string; loaded: number }
  | { type: "uploaded"; key: string }
  | { type: "polled"; key: string; source: Pick<Source, "status" | "pages" | "chunkCount" | "error"> }
  | { type: "picked"; key: string; source: Source }
  | { type: "failed"; key: string; reason: string }
  | { type: "removed"; key: string };

/** Why a file is refused before anything is sent: the names of i18n keys. */
export const REFUSALS = { kind: "sources.refusedKind", size: "sources.refusedSize", empty: "sources.refusedEmpty", full: "sources.refusedFull" } as const;

const BY_EXTENSION: Record<string, SourceKind> = { pdf: "application/pdf", md: "text/markdown", markdown: "text/markdown", txt: "text/plain", text: "text/plain" };
const BY_MIME: Record<string, SourceKind> = {
  "application/pdf": "application/pdf",
  "text/markdown": "text/markdown",
  "text/x-markdown": "text/markdown",
  "text/plain": "text/plain",
};

/** What the API is told the file is: its name's extension first (browsers rarely know Markdown's
 * type), then the browser's type; null for anything else. The worker checks the bytes. */
export function kindOf(filename: string, mime: string): SourceKind | null {
  const extension = /\.([A-Za-z]+)$/.exec(filename)?.[1]?.toLowerCase();
  return (extension && BY_EXTENSION[extension]) || BY_MIME[mime.split(";")[0].trim().toLowerCase()] || null;
}

/** What the file picker offers. */
export const ACCEPT = ".pdf,.md,.markdown,.txt,application/pdf,text/markdown,text/plain";

/** Rows that count toward the course's limit (a refused or failed one does not). */
export function counted(rows: UploadRow[]): UploadRow[] {
  return rows.filter((row) => row.phase !== "refused" && row.phase !== "failed");
}

/** Still on its way: the course must wait for it (or the learner remove it). */
export function isBusy(row: UploadRow): boolean {
  return row.phase === "registering" || row.phase === "uploading" || row.phase === "ingesting";
}

/** The ids a course is created with: the READY ones, in the order they were added. */
export function readyIds(rows: UploadRow[]): string[] {
  return rows.filter((row) => row.phase === "ready" && row.sourceId).map((row) => row.sourceId!);
}

function blank(key: string, filename: string, size: number, kind: SourceKind | null): UploadRow {
  return { key, filename, size, kind, phase: "registering", loaded: 0, sourceId: null, pages: null, chunkCount: null, reason: null };
}

export function uploadStep(rows: UploadRow[], event: UploadEvent): UploadRow[] {
  const change = (patch: (row: UploadRow) => Partial<UploadRow> | null) =>
    rows.map((row) => {
      if (row.key !== event.key) return row;
      const changed = patch(row);
      return changed ? { ...row, ...changed } : row;
    });
  switch (event.type) {
    case "added": {
      const row = blank(event.key, event.filename, event.size, kindOf(event.filename, event.mime));
      const refused =
        row.kind === null ? REFUSALS.kind
        : event.size <= 0 ? REFUSALS.empty
        : event.size > SOURCE_MAX_BYTES ? REFUSALS.size
        : counted(rows).length >= COURSE_MAX_SOURCES ? REFUSALS.full
        : null;
      return [...rows, refused ? { ...row, phase: "refused", reason: refused } : row];
    }
    case "picked": {
      // one of the learner's READY sources, added without an upload (once)
      if (rows.some((row) => row.sourceId === event.source.id) || counted(rows).length >= COURSE_MAX_SOURCES) return rows;
      const row = blank(event.key, event.source.filename, event.source.size, event.source.contentType as SourceKind);
      return [...rows, { ...row, ...fromSource(event.source), loaded: event.source.size, sourceId: event.source.id }];
    }
    case "registered":
      return change((row) => (row.phase === "registering" ? { phase: "uploading", sourceId: event.sourceId } : null));
    case "progress":
      return change((row) => (row.phase === "uploading" ? { loaded: Math.min(row.size, Math.max(row.loaded, event.loaded)) } : null));
    case "uploaded":
      return change((row) => (row.phase === "uploading" ? { phase: "ingesting", loaded: row.size } : null));
    case "polled":
      // only what is on its way changes: a late answer never undoes READY or FAILED
      return change((row) => (row.phase === "uploading" || row.phase === "ingesting" ? fromSource(event.source) : null));
    case "failed":
      return change((row) => (isBusy(row) ? { phase: "failed", reason: event.reason } : null));
    case "removed":
      return rows.filter((row) => row.key !== event.key);
  }
}

function fromSource(source: Pick<Source, "status" | "pages" | "chunkCount" | "error">): Partial<UploadRow> {
  switch (source.status) {
    case "READY":
      return { phase: "ready", pages: source.pages ?? null, chunkCount: source.chunkCount ?? null };
    case "FAILED":
      return { phase: "failed", reason: source.error?.reason ?? null };
    default:
      return { phase: "ingesting" };
  }
}

/** What S3 said when it refused a POST (its XML Error's Message), or null. */
export function s3Message(xml: string): string | null {
  return /<Message>([^<]*)<\/Message>/.exec(xml)?.[1]?.replace(/&lt;/g, "<").replace(/&amp;/g, "&") ?? null;
}

export class UploadRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Sends the file to S3 with the presigned POST form: its fields first, the file last (S3 ignores
 * fields after it), as multipart/form-data; XMLHttpRequest, as fetch reports no upload progress.
 * Resolves once S3 stored it (2xx); rejects with UploadRefused (status 0: no connection).
 */
export function postToS3(form: Pick<UploadForm, "url" | "fields">, file: Blob, onProgress: (loaded: number) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", form.url);
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () =>
      request.status >= 200 && request.status < 300
        ? resolve()
        : reject(new UploadRefused(request.status, s3Message(String(request.responseText ?? "")) ?? `HTTP ${request.status}`));
    request.onerror = () => reject(new UploadRefused(0, ""));
    request.onabort = () => reject(new UploadRefused(0, "aborted"));
    signal?.addEventListener("abort", () => request.abort());
    request.send(body);
  });
}
