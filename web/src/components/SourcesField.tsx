import { useEffect, useId, useReducer, useRef, useState, type DragEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ApiError } from "../api/client";
import { COURSE_MAX_SOURCES, SOURCE_MAX_BYTES, type Source } from "../api/types";
import { useApi } from "../context";
import { useT, type Key, type Translator } from "../i18n";
import { keys } from "../queries/keys";
import { useSource, useSources } from "../queries/sources";
import { ACCEPT, UploadRefused, counted, isBusy, postToS3, readyIds, uploadStep, type UploadRow } from "../upload";
import "../sources.css";

/** What the course form needs: the READY ids to send, and how many are still on their way. */
export interface SourcesChoice {
  ready: string[];
  busy: number;
}

/** A size as a reader says it: 1.2 MB, 340 kB, 12 bytes. */
export function sizeText(bytes: number, t: Translator["t"], number: Translator["number"]): string {
  if (bytes >= 1024 * 1024) return t("sources.mb", { n: number(Math.round((bytes / (1024 * 1024)) * 10) / 10) });
  if (bytes >= 1024) return t("sources.kb", { n: number(Math.round(bytes / 1024)) });
  return t("sources.bytes", { n: number(bytes) });
}

/** Sources for a new course (issue 24): files picked or dropped, each uploaded with its progress and
 * then read by the server, and the learner's READY sources to pick from. */
export function SourcesField({ onChange }: { onChange: (choice: SourcesChoice) => void }) {
  const translator = useT();
  const { t, number } = translator;
  const api = useApi();
  const client = useQueryClient();
  const [rows, dispatch] = useReducer(uploadStep, []);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  // each upload under way, by row: removing its row stops it
  const uploads = useRef(new Map<string, AbortController>());
  useEffect(() => {
    const running = uploads.current;
    return () => running.forEach((upload) => upload.abort()); // leaving the form stops them too
  }, []);
  const hintId = useId();
  const inputId = useId();
  const library = useSources();

  const ready = readyIds(rows);
  const busy = rows.filter(isBusy).length;
  const readyKey = ready.join(",");
  useEffect(() => {
    onChange({ ready: readyKey ? readyKey.split(",") : [], busy });
  }, [readyKey, busy, onChange]);

  const send = async (key: string, file: File, kind: NonNullable<UploadRow["kind"]>) => {
    const upload = new AbortController();
    uploads.current.set(key, upload);
    try {
      const { data: source } = await api.createSource({ filename: file.name, contentType: kind, size: file.size });
      if (upload.signal.aborted) return;
      dispatch({ type: "registered", key, sourceId: source.id });
      await postToS3(source.upload, file, (loaded) => dispatch({ type: "progress", key, loaded }), upload.signal);
      dispatch({ type: "uploaded", key });
    } catch (error) {
      if (upload.signal.aborted) return; // removed: nothing to say
      const reason =
        error instanceof UploadRefused ? (error.status === 0 ? t("sources.uploadLost") : t("sources.uploadRefused", { why: error.message }))
        : error instanceof ApiError ? error.message
        : t("sources.uploadLost");
      dispatch({ type: "failed", key, reason });
    } finally {
      uploads.current.delete(key);
    }
  };

  const add = (files: FileList | File[]) => {
    let now = rows;
    for (const file of Array.from(files)) {
      const key = crypto.randomUUID();
      const event = { type: "added", key, filename: file.name, size: file.size, mime: file.type } as const;
      now = uploadStep(now, event);
      dispatch(event);
      const row = now[now.length - 1];
      if (row.phase === "registering" && row.kind) void send(key, file, row.kind);
    }
  };

  const drop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length > 0) add(event.dataTransfer.files);
  };

  const remove = (key: string) => {
    uploads.current.get(key)?.abort();
    dispatch({ type: "removed", key });
    input.current?.focus(); // the row and its button are gone: back to where files are added
  };

  const full = counted(rows).length >= COURSE_MAX_SOURCES;
  const chosen = new Set(rows.map((row) => row.sourceId));
  const pickable = (library.data?.items ?? []).filter((source) => source.status === "READY" && !chosen.has(source.id));

  return (
    <fieldset className="sources-field">
      <legend>{t("sources.legend")}</legend>
      <p id={hintId} className="hint">
        {t("sources.hint", { max: COURSE_MAX_SOURCES, size: sizeText(SOURCE_MAX_BYTES, t, number) })}
      </p>
      <div
        className={dragging ? "drop-zone dragging" : "drop-zone"}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={drop}
      >
        <label htmlFor={inputId} className="drop-label">
          {t("sources.pick")}
        </label>
        <input
          id={inputId}
          ref={input}
          type="file"
          multiple
          accept={ACCEPT}
          aria-describedby={hintId}
          disabled={full}
          onChange={(event) => {
            if (event.target.files) add(event.target.files);
            event.target.value = ""; // the same file can be picked again after removing it
          }}
        />
        <span className="hint">{t("sources.drop")}</span>
      </div>
      {rows.length > 0 && (
        <ul className="upload-rows" aria-label={t("sources.added")}>
          {rows.map((row) => (
            <UploadItem key={row.key} row={row} dispatch={dispatch} onRemove={() => remove(row.key)} onSettled={() => void client.invalidateQueries({ queryKey: keys.sources(), exact: true })} />
          ))}
        </ul>
      )}
      {pickable.length > 0 && !full && (
        <div className="pick-sources">
          <p className="hint">{t("sources.yours")}</p>
          <ul>
            {pickable.map((source) => (
              <li key={source.id}>
                <button type="button" className="chip" onClick={() => dispatch({ type: "picked", key: crypto.randomUUID(), source })}>
                  {t("sources.use", { name: source.filename })}
                </button>{" "}
                <span className="hint">{pagesText(source, translator)}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </fieldset>
  );
}

/** Pages (a PDF) or passages, as far as they are known. */
export function pagesText(source: Pick<Source, "pages" | "chunkCount">, { plural }: Pick<Translator, "plural">): string {
  if (typeof source.pages === "number") return plural(source.pages, "sources.pagesOne", "sources.pagesOther");
  if (typeof source.chunkCount === "number") return plural(source.chunkCount, "sources.passagesOne", "sources.passagesOther");
  return "";
}

const PHASE: Record<UploadRow["phase"], Key> = {
  refused: "sources.phaseRefused",
  registering: "sources.phaseRegistering",
  uploading: "sources.phaseUploading",
  ingesting: "sources.phaseIngesting",
  ready: "sources.phaseReady",
  failed: "sources.phaseFailed",
};

function UploadItem({
  row,
  dispatch,
  onRemove,
  onSettled,
}: {
  row: UploadRow;
  dispatch: (event: Parameters<typeof uploadStep>[1]) => void;
  onRemove: () => void;
  onSettled: () => void;
}) {
  const translator = useT();
  const { t, number } = translator;
  // polled from the moment S3 has the file until the worker has read it (or failed to)
  const polled = useSource(row.phase === "ingesting" && row.sourceId ? row.sourceId : null);
  const source = polled.data?.data;
  useEffect(() => {
    if (source) dispatch({ type: "polled", key: row.key, source });
  }, [source, row.key, dispatch]);
  const settled = row.phase === "ready" || row.phase === "failed";
  useEffect(() => {
    if (settled && row.sourceId) onSettled();
  }, [settled]); // once, when it settles: the list then shows it as it is
  const percent = row.size > 0 ? Math.round((row.loaded / row.size) * 100) : 0;
  const detail =
    row.phase === "uploading" ? t("sources.percent", { n: number(percent) })
    : row.phase === "ready" ? pagesText(row, translator)
    : row.phase === "refused" && row.reason ? t(row.reason as Key, { max: COURSE_MAX_SOURCES, size: sizeText(SOURCE_MAX_BYTES, t, number) })
    : row.phase === "failed" ? (row.reason ?? t("sources.failedUnknown"))
    : "";
  return (
    <li className={`upload-row ${row.phase}`}>
      <span className="upload-name">{row.filename}</span> <span className="hint">{sizeText(row.size, t, number)}</span>
      {(row.phase === "uploading" || row.phase === "registering") && (
        <progress max={row.size} value={row.loaded} aria-label={t("sources.progress", { name: row.filename })} />
      )}
      <span role="status" className="upload-status">
        {t(PHASE[row.phase])}
        {detail ? `: ${detail}` : ""}
      </span>
      <button type="button" className="link" onClick={onRemove} aria-label={t("sources.remove", { name: row.filename })}>
        {t("sources.removeShort")}
      </button>
    </li>
  );
}
