import type { Source, SourceStatus } from "../api/types";
import { useT, type Key } from "../i18n";
import { useSources } from "../queries/sources";
import { ErrorNotice } from "./Status";
import { pagesText } from "./SourcesField";
import "../sources.css";

const STATUS: Record<SourceStatus, Key> = {
  UPLOADING: "sources.statusUploading",
  INGESTING: "sources.statusIngesting",
  READY: "sources.statusReady",
  FAILED: "sources.statusFailed",
};

/** The files a course is grounded in (issue 24): each one's name, pages and status, from the
 * learner's library (one that was deleted since says so). Nothing for a course without sources. */
export function CourseSources({ sourceIds }: { sourceIds: readonly string[] }) {
  const translator = useT();
  const { t } = translator;
  const list = useSources(sourceIds.length > 0);
  if (sourceIds.length === 0) return null;
  const byId = new Map((list.data?.items ?? []).map((source): [string, Source] => [source.id, source]));
  return (
    <section className="course-sources" aria-labelledby="course-sources-title">
      <h2 id="course-sources-title">{t("sources.courseTitle")}</h2>
      {list.error && <ErrorNotice error={list.error} />}
      {list.isPending ? (
        <p className="hint">{t("common.loading")}</p>
      ) : (
        <ul>
          {sourceIds.map((id) => {
            const source = byId.get(id);
            if (!source) return <li key={id} className="hint">{t("sources.deleted")}</li>;
            const pages = pagesText(source, translator);
            return (
              <li key={id} className={`course-source ${source.status.toLowerCase()}`}>
                <span className="source-name">{source.filename}</span>
                {pages && <span className="hint"> · {pages}</span>}
                <span className="hint"> · {t(STATUS[source.status])}</span>
                {source.status === "FAILED" && source.error && <span className="hint">: {source.error.reason}</span>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
