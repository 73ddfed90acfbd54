import { createContext, useContext, useId, useRef, useState, type KeyboardEvent } from "react";
import type { Citation } from "../api/types";
import { useT } from "../i18n";
import "../sources.css";

/** The filenames of the course's sources by id, for the citations under its blocks (a citation
 * whose source is unknown here, deleted or in a shared view, says "a source"). */
export const SourceNames = createContext<ReadonlyMap<string, string>>(new Map());

/**
 * A block's (or an answer's) citations as numbered marks, [1] [2]..., each a disclosure button
 * that opens the quoted passage with its page and its source's name below the marks; Escape or
 * Close shuts it and gives the focus back to its mark. `first`: the number of the first mark (a
 * lesson numbers its citations on from block to block).
 */
export function Citations({ citations, first = 1 }: { citations: Citation[]; first?: number }) {
  const { t } = useT();
  const names = useContext(SourceNames);
  const [open, setOpen] = useState<number | null>(null);
  const marks = useRef<(HTMLButtonElement | null)[]>([]);
  const panelId = useId();
  if (citations.length === 0) return null;
  const close = () => {
    const at = open;
    setOpen(null);
    if (at !== null) marks.current[at]?.focus();
  };
  const onKey = (event: KeyboardEvent) => {
    if (event.key === "Escape" && open !== null) {
      event.stopPropagation();
      close();
    }
  };
  const name = (citation: Citation) => names.get(citation.sourceId) ?? t("cite.aSource");
  const where = (citation: Citation) =>
    typeof citation.page === "number" ? t("cite.where", { name: name(citation), page: citation.page }) : name(citation);
  const shown = open !== null ? citations[open] : null;
  return (
    <div className="citations" onKeyDown={onKey}>
      <span className="cite-marks" role="group" aria-label={t("cite.group")}>
        {citations.map((citation, i) => (
          <sup key={i}>
            <button
              type="button"
              className="cite-mark"
              ref={(element) => {
                marks.current[i] = element;
              }}
              aria-expanded={open === i}
              aria-controls={open === i ? panelId : undefined}
              aria-label={t("cite.mark", { n: first + i, where: where(citation) })}
              onClick={() => setOpen(open === i ? null : i)}
            >
              [{first + i}]
            </button>
          </sup>
        ))}
      </span>
      {shown && (
        <figure id={panelId} className="cite-panel">
          <blockquote>
            <p>{shown.quote}</p>
          </blockquote>
          <figcaption>
            <span className="cite-number">[{first + open!}]</span> {where(shown)}{" "}
            <button type="button" className="link" onClick={close}>
              {t("cite.close")}
            </button>
          </figcaption>
        </figure>
      )}
    </div>
  );
}
