// Compare an earlier version of a lesson with the current one (issue 26): side by side on a wide
// screen, one above the other on a narrow one, each headed with its number and date; blocks
// compared by their text, a block that differs marked "changed", one without a counterpart "only in
// this version". The earlier side is read from the API (GET .../versions/{n}), so any version the
// lesson keeps can be compared, whatever this browser has shown.
import { useEffect, useRef } from "react";
import type { Block } from "../api/types";
import { useT } from "../i18n";
import { useLessonVersion } from "../queries/lessons";
import { CodeBlock, MarkdownBlock } from "./Blocks";
import { ErrorNotice } from "./Status";

export interface ShownVersion {
  number: number;
  generatedAt: string | null;
  blocks: Block[];
}

// ---- the comparison ---------------------------------------------------------------------------

/** A block's text, as compared: what a learner reads of it, whitespace folded. */
export function blockText(block: Block): string {
  const parts: string[] = [block.type];
  switch (block.type) {
    case "markdown":
      parts.push(block.markdown);
      break;
    case "code":
      parts.push(block.language, block.code, block.caption);
      break;
    case "diagram":
      parts.push(block.source, block.caption);
      break;
    case "key_points":
      parts.push(...block.points);
      break;
    case "quiz":
      for (const q of block.questions) parts.push(q.question, ...q.options);
      break;
    case "video":
      parts.push(block.title, block.url);
      break;
  }
  return parts.join("\n").replace(/\s+/g, " ").trim();
}

export type Mark = "same" | "changed" | "only";

/** Each side's blocks marked: equal text matched in order (a longest common subsequence);
 * between two matches, blocks paired in order are "changed", the rest "only" in their version. */
export function compareBlocks(before: Block[], after: Block[]): { before: Mark[]; after: Mark[] } {
  const a = before.map(blockText);
  const b = after.map(blockText);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const marks = { before: new Array<Mark>(a.length).fill("only"), after: new Array<Mark>(b.length).fill("only") };
  let i = 0;
  let j = 0;
  let gapA: number[] = [];
  let gapB: number[] = [];
  const closeGap = () => {
    for (let k = 0; k < Math.min(gapA.length, gapB.length); k++) {
      marks.before[gapA[k]] = "changed";
      marks.after[gapB[k]] = "changed";
    }
    gapA = [];
    gapB = [];
  };
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      closeGap();
      marks.before[i++] = "same";
      marks.after[j++] = "same";
    } else if (j >= b.length || (i < a.length && lcs[i + 1][j] >= lcs[i][j + 1])) gapA.push(i++);
    else gapB.push(j++);
  }
  closeGap();
  return marks;
}

/** A block as text to compare by eye: nothing to answer or run (the lesson above is for that). */
function PlainBlock({ block }: { block: Block }) {
  const { t } = useT();
  switch (block.type) {
    case "markdown": // its headings under the side's h3: h4 at the highest
      return <MarkdownBlock text={block.markdown} after={3} top={4} />;
    case "code":
      return <CodeBlock language={block.language} code={block.code} caption={block.caption} />;
    case "key_points": // not the lesson's labelled section: two columns would repeat its landmark
      return (
        <div className="block key-points">
          <h4>{t("blocks.keyPoints")}</h4>
          <ul>
            {block.points.map((point, i) => (
              <li key={i}>{point}</li>
            ))}
          </ul>
        </div>
      );
    case "diagram":
      return (
        <figure className="block">
          <pre tabIndex={0}>{block.source}</pre>
          <figcaption>{block.caption}</figcaption>
        </figure>
      );
    case "quiz":
      return (
        <div className="block">
          <h4>{t("quiz.title")}</h4>
          <ol>
            {block.questions.map((q, i) => (
              <li key={i}>
                {q.question}
                <ul>
                  {q.options.map((option, k) => (
                    <li key={k}>{option}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        </div>
      );
    case "video":
      return (
        <p className="block">
          {t("blocks.video")}:{" "}
          <a href={block.url} target="_blank" rel="noopener noreferrer nofollow">
            {block.title}
          </a>
        </p>
      );
    default:
      return null;
  }
}

function Side({ version, current, marks, id }: { version: ShownVersion; current: boolean; marks: Mark[]; id: string }) {
  const { t, date } = useT();
  const when = version.generatedAt ? date(version.generatedAt) : "";
  return (
    <section className={current ? "compare-side current" : "compare-side"} aria-labelledby={id}>
      <h3 id={id}>{t(current ? "compare.currentHeading" : "compare.versionHeading", { n: version.number, date: when })}</h3>
      {version.blocks.map((block, i) => (
        <div key={i} className={`compare-block ${marks[i]}`}>
          {marks[i] !== "same" && <p className="compare-mark">{t(marks[i] === "changed" ? "compare.changed" : "compare.only")}</p>}
          <PlainBlock block={block} />
        </div>
      ))}
    </section>
  );
}

/** Version `number` of the lesson, read from the API, compared with `current`, in a named region;
 * its heading gets focus when it opens, Escape or "Close the comparison" closes it (the caller
 * gives focus back to the control that opened it). A version the lesson no longer keeps (404
 * `version_not_kept`) is said in the API's words. */
export function VersionCompare({
  courseId,
  lessonId,
  number,
  current,
  onClose,
}: {
  courseId: string;
  lessonId: string;
  number: number;
  current: ShownVersion;
  onClose: () => void;
}) {
  const { t } = useT();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const read = useLessonVersion(courseId, lessonId, number);
  const earlier: ShownVersion | null = read.data
    ? { number: read.data.number, generatedAt: read.data.generatedAt ?? null, blocks: read.data.content.blocks }
    : null;
  return (
    <section
      className="version-compare no-print"
      aria-labelledby="compare-heading"
      aria-busy={read.isPending}
      onKeyDown={(event) => {
        if (event.key === "Escape") {
          event.stopPropagation();
          onClose();
        }
      }}
    >
      <h2 id="compare-heading" tabIndex={-1} ref={heading}>
        {t("compare.heading", { old: number, current: current.number })}
      </h2>
      {earlier ? (
        <Compared earlier={earlier} current={current} />
      ) : read.error ? (
        <ErrorNotice error={read.error} />
      ) : (
        <p role="status" className="hint">
          {t("common.loading")}
        </p>
      )}
      <button type="button" className="secondary" onClick={onClose}>
        {t("compare.close")}
      </button>
    </section>
  );
}

function Compared({ earlier, current }: { earlier: ShownVersion; current: ShownVersion }) {
  const { t } = useT();
  const marks = compareBlocks(earlier.blocks, current.blocks);
  const differing = marks.before.filter((m) => m !== "same").length + marks.after.filter((m) => m === "only").length;
  return (
    <>
      <p className="hint">{differing ? t("compare.summary", { count: differing }) : t("compare.same")}</p>
      <div className="compare-columns">
        <Side version={earlier} current={false} marks={marks.before} id="compare-earlier" />
        <Side version={current} current marks={marks.after} id="compare-current" />
      </div>
    </>
  );
}
