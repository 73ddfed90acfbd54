import { useEffect, useId, useState } from "react";
import Markdown from "react-markdown";
import type { Block, QuizQuestion, QuizResult } from "../api/types";

type Highlighter = typeof import("../highlight");
let highlighter: Highlighter | null = null;

/** Highlighting arrives after the text: the lesson reads at once, colours follow (one chunk). */
function useHighlighter(): Highlighter | null {
  const [loaded, setLoaded] = useState(highlighter);
  useEffect(() => {
    if (loaded) return;
    let live = true;
    void import("../highlight").then((module) => {
      highlighter = module;
      if (live) setLoaded(module);
    });
    return () => {
      live = false;
    };
  }, [loaded]);
  return loaded;
}

// Headings in model output never skip a level (the page's h1 is the lesson's title): each is h2 at
// the highest and at most one level below the heading before it, in this block or an earlier one.
const ATX_HEADING = /^ {0,3}(#{1,6})[ \t]/;
const FENCE = /^ {0,3}(```|~~~)/;

function nextLevel(level: number, previous: number): number {
  return Math.min(Math.max(level, 2), previous + 1);
}

/** The heading level in force after a markdown text, given the one before it. */
export function headingLevelAfter(markdown: string, previous: number): number {
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (FENCE.test(line)) inFence = !inFence;
    const heading = inFence ? null : ATX_HEADING.exec(line);
    if (heading) previous = nextLevel(heading[1].length, previous);
  }
  return previous;
}

type HastNode = { type: string; tagName?: string; children?: HastNode[] };

function rehypeHeadingLevels(after: number) {
  return () => (tree: HastNode) => {
    let previous = after;
    const walk = (node: HastNode) => {
      for (const child of node.children ?? []) {
        const level = child.type === "element" && /^h[1-6]$/.test(child.tagName ?? "") ? Number(child.tagName!.slice(1)) : 0;
        if (level) {
          previous = nextLevel(level, previous);
          child.tagName = `h${previous}`;
        } else if (child.tagName !== "pre") walk(child);
      }
    };
    walk(tree);
  };
}

// Model output is untrusted: react-markdown renders no raw HTML, links open safely,
// and code is shown as text with highlighting, never executed. An image becomes a link: an
// <img> would be fetched by the browser unasked, and its URL could carry what the page shows
// (a question, an answer) to whoever wrote the markdown's source.
export function MarkdownBlock({ text, writing = false, after = 1 }: { text: string; writing?: boolean; after?: number }) {
  const hl = useHighlighter();
  const levels = rehypeHeadingLevels(after);
  return (
    <div className={writing ? "block markdown writing" : "block markdown"} aria-busy={writing || undefined}>
      <Markdown
        rehypePlugins={hl ? [levels, hl.rehypeHighlightSubset] : [levels]}
        skipHtml
        components={{
          a: ({ href, children }) => <a href={href} target="_blank" rel="noopener noreferrer nofollow">{children}</a>,
          img: ({ src, alt }) => (
            <a href={typeof src === "string" ? src : undefined} target="_blank" rel="noopener noreferrer nofollow">
              {`[image: ${alt || "untitled"}]`}
            </a>
          ),
        }}
      >
        {text}
      </Markdown>
    </div>
  );
}

/** One frame: the language, a copy button, the code (highlighted once the highlighter is in). */
export function CodeBlock({ language, code, caption }: { language: string; code: string; caption: string }) {
  const hl = useHighlighter();
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };
  const label = language.trim() || "code";
  return (
    <figure className="block code">
      <div className="code-head">
        <span className="code-lang">{label}</span>
        <button type="button" className="copy" onClick={() => void copy()}>
          {copied === "copied" ? "Copied" : copied === "failed" ? "Copy failed" : "Copy"}
        </button>
        <span className="visually-hidden" role="status">
          {copied === "copied" ? "Code copied to the clipboard" : ""}
        </span>
      </div>
      <pre tabIndex={0} aria-label={`${label} code`}>
        <code className={`hljs language-${label}`}>{hl?.highlight(label, code) ?? code}</code>
      </pre>
      {caption && <figcaption>{caption}</figcaption>}
    </figure>
  );
}

export function KeyPoints({ points }: { points: string[] }) {
  return (
    <section className="block key-points" aria-label="Key points">
      <h3>Key points</h3>
      <ul>
        {points.map((point, i) => (
          <li key={i}>{point}</li>
        ))}
      </ul>
    </section>
  );
}

function Question({
  question,
  index,
  chosen,
  onChoose,
  verdict,
}: {
  question: QuizQuestion;
  index: number;
  chosen: number | null;
  onChoose: (option: number) => void;
  verdict: boolean | null;
}) {
  const name = useId();
  return (
    <fieldset className="question" disabled={verdict !== null}>
      <legend>
        {index + 1}. {question.question}
      </legend>
      {question.options.map((option, i) => (
        <label key={i} className={verdict !== null && i === question.answer_index ? "option right" : "option"}>
          <input type="radio" name={name} value={i} checked={chosen === i} onChange={() => onChoose(i)} />
          {option}
        </label>
      ))}
      {verdict !== null && (
        <p className={verdict ? "verdict right" : "verdict wrong"}>
          {verdict ? "Correct." : `Not quite: the answer is “${question.options[question.answer_index]}”.`}{" "}
          {question.explanation}
        </p>
      )}
    </fieldset>
  );
}

export interface QuizProgress {
  /** The stored result, if any (kept as progress, so it survives leaving and coming back). */
  result: QuizResult | null;
  /** The lesson version shown now; a result taken on another version is shown as such. */
  version: string | null;
  /** Sends the answers to be graded and kept; resolves to the stored result. */
  submit: (answers: (number | null)[]) => Promise<QuizResult>;
}

function localResult(questions: QuizQuestion[], answers: (number | null)[]): QuizResult {
  const correct = questions.map((q, i) => answers[i] === q.answer_index);
  const score = correct.filter(Boolean).length;
  return {
    score, total: questions.length, passed: score >= Math.ceil(questions.length * 0.6), answers, correct,
    lessonVersion: null, takenAt: new Date().toISOString(),
  };
}

export function Quiz({ questions, progress, draft = false }: { questions: QuizQuestion[]; progress?: QuizProgress; draft?: boolean }) {
  const stored = progress?.result ?? null;
  const sameVersion = !stored || !progress?.version || !stored.lessonVersion || sameInstant(stored.lessonVersion, progress.version);
  const usable = stored && sameVersion && stored.total === questions.length ? stored : null;
  const [answers, setAnswers] = useState<(number | null)[]>(() => usable?.answers ?? questions.map(() => null));
  const [result, setResult] = useState<QuizResult | null>(usable);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [seeded, setSeeded] = useState(usable !== null);
  useEffect(() => {
    // the stored result arrived after the quiz was drawn (progress loads beside the lesson)
    if (usable && !seeded) {
      setSeeded(true);
      setResult(usable);
      setAnswers(usable.answers);
    }
  }, [usable, seeded]);
  const complete = answers.every((a) => a !== null);
  const submit = async () => {
    setSending(true);
    setError(null);
    try {
      setResult(progress ? await progress.submit(answers) : localResult(questions, answers));
    } catch (e) {
      setError((e as Error).message || "Your answers could not be saved; try again.");
    } finally {
      setSending(false);
    }
  };
  const retake = () => {
    setResult(null);
    setAnswers(questions.map(() => null));
  };
  return (
    <section className="block quiz" aria-label="Quiz">
      <h3>Check yourself</h3>
      {stored && !sameVersion && (
        <p className="hint">
          You scored {stored.score} of {stored.total} on an earlier version of this lesson.
        </p>
      )}
      {questions.map((question, i) => (
        <Question
          key={i}
          question={question}
          index={i}
          chosen={answers[i] ?? null}
          onChoose={(option) => setAnswers((prev) => prev.map((a, j) => (j === i ? option : a)))}
          verdict={result ? (result.correct[i] ?? false) : null}
        />
      ))}
      {result ? (
        <div className="quiz-result">
          <p role="status" className={result.passed ? "score right" : "score wrong"}>
            You scored {result.score} of {result.total}.{" "}
            {result.passed ? "Passed: this lesson counts as completed." : `Get ${Math.ceil(result.total * 0.6)} right to pass.`}
          </p>
          <button type="button" className="secondary" onClick={retake}>
            Try again
          </button>
        </div>
      ) : (
        <div className="quiz-result">
          <button type="button" disabled={draft || !complete || sending} onClick={() => void submit()}>
            {sending ? "Checking…" : "Check my answers"}
          </button>
          {draft ? (
            <span className="hint"> You can check your answers once the lesson is written.</span>
          ) : (
            !complete && <span className="hint"> Answer every question to see your score.</span>
          )}
          {error && (
            <p role="alert" className="notice error">
              {error}
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function sameInstant(a: string, b: string): boolean {
  return Math.abs(Date.parse(a) - Date.parse(b)) < 1;
}

export function youTubeId(url: string): string | null {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:") return null;
    if (parsed.hostname.endsWith("youtube.com")) return parsed.searchParams.get("v");
    if (parsed.hostname === "youtu.be") return parsed.pathname.slice(1) || null;
  } catch {
    return null;
  }
  return null;
}

export function Video({ title, url }: { title: string; url: string }) {
  const id = youTubeId(url);
  return (
    <section className="block video" aria-label="Suggested video">
      <h3>Suggested video</h3>
      {id ? (
        <iframe
          src={`https://www.youtube-nocookie.com/embed/${encodeURIComponent(id)}`}
          title={title}
          allow="encrypted-media; picture-in-picture"
          sandbox="allow-scripts allow-same-origin allow-presentation"
          loading="lazy"
          allowFullScreen
        />
      ) : null}
      <a href={url} target="_blank" rel="noopener noreferrer nofollow">
        {title}
      </a>
    </section>
  );
}

/**
 * The lesson's blocks, in order. While a lesson is being written (`draft`) the same renderer
 * shows its finished blocks and, last, the markdown being written (`writing`): each block keeps
 * its place (keyed by position), so the text grows below what is read and the final content
 * replaces the draft in place. A draft's quiz cannot be checked yet.
 */
export function Blocks({
  blocks,
  quiz,
  writing = null,
  draft = false,
}: {
  blocks: Block[];
  quiz?: QuizProgress;
  writing?: string | null;
  draft?: boolean;
}) {
  // the heading level in force before each block, and after the last (1: the page's h1); key
  // points, quiz and video are h3 sections
  const after = [1];
  for (const block of blocks) {
    const level = after[after.length - 1];
    after.push(block.type === "markdown" ? headingLevelAfter(block.markdown, level) : block.type === "code" ? level : 3);
  }
  return (
    <>
      {blocks.map((block, i) => {
        switch (block.type) {
          case "markdown":
            return <MarkdownBlock key={i} text={block.markdown} after={after[i]} />;
          case "code":
            return <CodeBlock key={i} language={block.language} code={block.code} caption={block.caption} />;
          case "key_points":
            return <KeyPoints key={i} points={block.points} />;
          case "quiz":
            return <Quiz key={i} questions={block.questions} progress={draft ? undefined : quiz} draft={draft} />;
          case "video":
            return <Video key={i} title={block.title} url={block.url} />;
          default:
            return null;
        }
      })}
      {writing ? <MarkdownBlock key={blocks.length} text={writing} writing after={after[blocks.length]} /> : null}
    </>
  );
}
