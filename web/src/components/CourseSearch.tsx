// Search in a course (issue 26): the course's written lessons that mention a word, found by the
// API (GET /courses/{id}/search), each linking into its lesson with a snippet. The mention is
// highlighted with <mark> elements built from the API's offsets (Unicode code points): a lesson's
// text and the query stay text, never HTML.
import { useMutation } from "@tanstack/react-query";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { SEARCH_MAX_CHARS, type SearchMatch, type SearchResult } from "../api/types";
import { useApi } from "../context";
import { useT } from "../i18n";
import { ErrorNotice } from "./Status";

/** `text` with each of `matches` (code-point offsets, end exclusive) in a <mark>. */
export function Highlighted({ text, matches }: { text: string; matches: SearchMatch[] }) {
  const chars = Array.from(text); // code points, as the API counts them (not UTF-16 units)
  const parts: ReactNode[] = [];
  let at = 0;
  for (const { start, end } of [...matches].sort((a, b) => a.start - b.start)) {
    if (start < at || end <= start || end > chars.length) continue; // overlapping or out of range: left plain
    if (start > at) parts.push(chars.slice(at, start).join(""));
    parts.push(<mark key={start}>{chars.slice(start, end).join("")}</mark>);
    at = end;
  }
  if (at < chars.length) parts.push(chars.slice(at).join(""));
  return <>{parts}</>;
}

function Result({ courseId, result }: { courseId: string; result: SearchResult }) {
  const { t } = useT();
  return (
    <li className="search-result">
      <Link to={`/courses/${courseId}/lessons/${result.lessonId}`}>{result.lessonTitle}</Link>
      {result.moduleTitle && <span className="search-module"> · {t("search.inModule", { module: result.moduleTitle })}</span>}
      <p className="snippet">
        <Highlighted text={result.snippet} matches={result.matches} />
      </p>
    </li>
  );
}

export function CourseSearch({ courseId }: { courseId: string }) {
  const api = useApi();
  const { t } = useT();
  const id = useId();
  const [query, setQuery] = useState("");
  const search = useMutation({ mutationFn: async (q: string) => (await api.searchCourse(courseId, q)).data });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const q = query.trim();
    if (q) search.mutate(q);
  };
  const found = search.data;
  const count = found?.results.length ?? 0;
  const said = !found
    ? ""
    : count === 0
      ? t("search.none", { query: found.query })
      : count === 1
        ? t("search.countOne", { query: found.query })
        : t("search.countMany", { count, query: found.query });
  return (
    <section className="course-search no-print" aria-label={t("search.region")}>
      <form role="search" onSubmit={submit}>
        <label htmlFor={id}>{t("search.label")}</label>
        <input
          id={id}
          type="search"
          value={query}
          maxLength={SEARCH_MAX_CHARS}
          onChange={(event) => setQuery(event.target.value)}
        />
        <button type="submit" className="secondary" disabled={search.isPending || !query.trim()}>
          {search.isPending ? t("search.searching") : t("search.button")}
        </button>
      </form>
      <p className="hint">{t("search.onlyWritten")}</p>
      <p role="status" className="search-count">
        {said}
      </p>
      {search.error && <ErrorNotice error={search.error} />}
      {found && count > 0 && (
        <ol className="search-results">
          {found.results.map((result) => (
            <Result key={result.lessonId} courseId={courseId} result={result} />
          ))}
        </ol>
      )}
    </section>
  );
}
