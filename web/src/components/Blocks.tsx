import { useEffect, useId, useState, type ReactNode } from "react";
import Markdown from "react-markdown";
import { Link } from "react-router-dom";
import type { Block, QuizQuestion, QuizResult, QuizSolution } from "../api/types";
import type { PendingQuiz } from "../outbox";
import type { QuizOutcome } from "../queries/progress";
import { useFocusNext } from "../screen";
import { useT, type Translator } from "../i18n";
import { Citations } from "./Citations";
import { Diagram } from "./Diagram";

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
// the highest (`top`; lower where the blocks sit under headings of the page's own, as in a
// comparison of versions) and at most one level below the heading before it, in this block or an earlier one.
const ATX_HEADING = /^ {0,3}(#{1,6})[ \t]/;
const FENCE = /^ {0,3}(```|~~~)/;

function nextLevel(level: number, previous: number, top = 2): number {
  return Math.min(Math.max(level, top), previous + 1);
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

function rehypeHeadingLevels(after: number, top: number) {
  return () => (tree: HastNode) => {
    let previous = after;
    const walk = (node: HastNode) => {
      for (const child of node.children ?? []) {
        const level = child.type === "element" && /^h[1-6]$/.test(child.tagName ?? "") ? Number(child.tagName!.slice(1)) : 0;
        if (level) {
          previous = nextLevel(level, previous, top);
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
export function MarkdownBlock({
  text,
  writing = false,
  after = 1,
  top = 2,
  children,
}: {
  text: string;
  writing?: boolean;
  after?: number;
  top?: number;
  /** After the text, inside the block (its citations): the block stays one `.block` of the lesson. */
  children?: ReactNode;
}) {
  const hl = useHighlighter();
  const levels = rehypeHeadingLevels(after, top);
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
      {children}
    </div>
  );
}

/** One frame: the language, a copy button, the code (highlighted once the highlighter is in). */
export function CodeBlock({ language, code, caption }: { language: string; code: string; caption: string }) {
  const hl = useHighlighter();
  const { t } = useT();
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };
  // the highlighter and the class take the language as written; the label is in the screen's language
  const lang = language.trim() || "code";
  const label = language.trim() || t("code.label");
  return (
    <figure className="block code">
      <div className="code-head">
        <span className="code-lang">{label}</span>
        <button type="button" className="copy" onClick={() => void copy()}>
          {copied === "copied" ? t("code.copied") : copied === "failed" ? t("code.copyFailed") : t("code.copy")}
        </button>
        <span className="visually-hidden" role="status">
          {copied === "copied" ? t("code.copiedStatus") : ""}
        </span>
      </div>
      <pre tabIndex={0} aria-label={t("code.frame", { language: label })}>
        <code className={`hljs language-${lang}`}>{hl?.highlight(lang, code) ?? code}</code>
      </pre>
      {caption && <figcaption>{caption}</figcaption>}
    </figure>
  );
}

export function KeyPoints({ points }: { points: string[] }) {
  const { t } = useT();
  return (
    <section className="block key-points" aria-label={t("blocks.keyPoints")}>
      <h3>{t("blocks.keyPoints")}</h3>
      <ul>
        {points.map((point, i) => (
          <li key={i}>{point}</li>
        ))}
      </ul>
    </section>
  );
}

/** How one question came out: from the last check (kept while its answer is unchanged). */
interface Mark {
  right: boolean;
  /** Why the chosen option is wrong, when the lesson has it. */
  feedback: string | null;
  /** The right option and why: once passed or revealed. */
  solution: QuizSolution | null;
}

function Question({
  question,
  index,
  chosen,
  onChoose,
  locked,
  mark,
}: {
  question: QuizQuestion;
  index: number;
  chosen: number | null;
  onChoose: (option: number) => void;
  locked: boolean;
  mark: Mark | null;
}) {
  const name = useId();
  const { t } = useT();
  const answer = mark?.solution?.answerIndex ?? null;
  return (
    <fieldset className={mark ? `question ${mark.right ? "right" : "wrong"}` : "question"} disabled={locked}>
      <legend>
        {index + 1}. {question.question}
      </legend>
      {question.options.map((option, i) => {
        const mine = mark !== null && chosen === i;
        const classes = ["option", mine ? (mark.right ? "chosen right" : "chosen wrong") : "", answer === i && !mine ? "answer" : ""];
        return (
          <label key={i} className={classes.filter(Boolean).join(" ")}>
            <input type="radio" name={name} value={i} checked={chosen === i} onChange={() => onChoose(i)} />
            <span className="option-text">{option}</span>
            {mine && <> <span className="tag">{mark.right ? t("quiz.yourAnswerRight") : t("quiz.yourAnswerWrong")}</span></>}
            {answer === i && !mine && <> <span className="tag">{t("quiz.rightAnswer")}</span></>}
          </label>
        );
      })}
      {mark && (
        <p className={mark.right ? "verdict right" : "verdict wrong"}>
          {mark.right ? t("quiz.correct") : mark.feedback ? t("quiz.notQuiteWhy", { why: mark.feedback }) : t("quiz.notQuite")}
          {!mark.right && mark.solution ? ` ${t("quiz.answerIs", { answer: question.options[mark.solution.answerIndex] })}` : ""}
          {mark.solution?.explanation ? ` ${mark.solution.explanation}` : ""}
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
  /** Sends the answers to be graded and kept (`reveal`: with the right answers, before passing):
   * the result, or the answers kept on this device to send later (offline). */
  submit: (answers: (number | null)[], reveal: boolean) => Promise<QuizOutcome>;
  /** Answers kept on this device for this quiz: waiting to be sent, or refused (`failed`). */
  pending?: PendingQuiz | null;
  /** Forgets answers the API refused (once the learner has read why). */
  dismiss?: () => void;
  /** Answers chosen and not sent yet (kept across a reload or an expired session), and keeping them. */
  draft?: (number | null)[] | null;
  saveDraft?: (answers: (number | null)[]) => void;
  /** False where nothing is kept (a shared course read without an account): passing completes nothing. */
  recorded?: boolean;
  /** The next step, offered right after a passed (or revealed) result: the next lesson, or the course. */
  next?: { href: string; label: string } | null;
}

function scoreSentence(result: QuizResult, recorded: boolean, t: Translator["t"]): string {
  const scored = t("quiz.scored", { score: result.score, total: result.total });
  if (result.passed) return `${scored} ${recorded ? t("quiz.passedRecorded") : t("quiz.passed")}`;
  const need = Math.ceil(result.total * 0.6);
  return `${scored} ${result.solution ? t("quiz.needMarked", { need }) : t("quiz.needTry", { need })}`;
}

/**
 * The quiz: the API grades it (the lesson as served has no answers). A wrong answer is marked with
 * why the chosen option is wrong; "Try again" keeps the answers to change; "Show the answers" (or
 * passing) reveals the right ones with their explanations. Offline, the answers are kept on this
 * device and sent later. After each step focus goes to what it produced, never the page's body.
 */
export function Quiz({ questions, progress, draft = false }: { questions: QuizQuestion[]; progress?: QuizProgress; draft?: boolean }) {
  const stored = progress?.result ?? null;
  const sameVersion = !stored || !progress?.version || !stored.lessonVersion || sameInstant(stored.lessonVersion, progress.version);
  const usable = stored && sameVersion && stored.total === questions.length ? stored : null;
  const pending = progress?.pending ?? null;
  const fits = (answers: (number | null)[] | null | undefined) => (answers && answers.length === questions.length ? answers : null);
  const kept = fits(pending && !pending.failed ? pending.answers : null);
  const drafted = fits(progress?.draft);
  const [answers, setAnswers] = useState<(number | null)[]>(() => kept ?? drafted ?? usable?.answers ?? questions.map(() => null));
  const [result, setResult] = useState<QuizResult | null>(usable);
  // checked: the result is shown, the form locked; else the learner is answering (again)
  const [checked, setChecked] = useState(!kept && !drafted && usable !== null);
  const [waiting, setWaiting] = useState(kept !== null); // kept on this device, to be sent
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const focus = useFocusNext();
  const { t } = useT();
  const untouched = !checked && result === null && answers.every((a) => a === null);
  useEffect(() => {
    // a stored result arrived: after the quiz was drawn (progress loads beside the lesson), or sent
    // from this device once back online
    if (!usable || usable.takenAt === result?.takenAt) return;
    if (untouched || (waiting && !pending)) {
      setResult(usable);
      setAnswers(usable.answers);
      setChecked(true);
      setWaiting(false);
    }
  }, [usable, result, untouched, waiting, pending]);
  useEffect(() => {
    if (pending?.failed) setWaiting(false);
  }, [pending?.failed]);

  const complete = answers.every((a) => a !== null);
  const choose = (i: number, option: number) => {
    const next = answers.map((a, j) => (j === i ? option : a));
    setAnswers(next);
    progress?.saveDraft?.(next);
  };
  const send = async (reveal: boolean) => {
    if (!progress) return;
    const sent = reveal && result ? result.answers : answers;
    setSending(true);
    setError(null);
    focus.request();
    try {
      const outcome = await progress.submit(sent, reveal);
      if ("result" in outcome) {
        setResult(outcome.result);
        setAnswers(outcome.result.answers);
        setChecked(true);
        setWaiting(false);
      } else {
        setWaiting(true);
      }
    } catch (e) {
      setError((e as Error).message || t("quiz.notChecked"));
    } finally {
      setSending(false);
    }
  };
  const tryAgain = () => {
    focus.request();
    setChecked(false); // the answers stay, to change the ones marked wrong
  };
  // each question's mark: the last check's, while its answer is the one checked
  const markOf = (i: number): Mark | null => {
    if (!result || waiting || result.answers[i] !== answers[i]) return null;
    return {
      right: result.correct[i] ?? false,
      feedback: result.feedback?.[i] ?? null,
      solution: checked ? (result.solution?.[i] ?? null) : null,
    };
  };
  const earlier = result?.tries ?? [];
  return (
    <section className="block quiz" aria-label={t("quiz.region")}>
      <h3>{t("quiz.title")}</h3>
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
          onChoose={(option) => choose(i, option)}
          locked={checked || sending}
          mark={markOf(i)}
        />
      ))}
      {checked && result ? (
        <div className="quiz-result">
          <p role="status" tabIndex={-1} ref={focus.ref} key={`score-${result.takenAt}`} className={result.passed ? "score right" : "score wrong"}>
            {scoreSentence(result, progress?.recorded ?? true, t)}
          </p>
          <div className="quiz-actions">
            <button type="button" className="secondary" onClick={tryAgain} disabled={sending}>
              {t("quiz.tryAgain")}
            </button>
            {!result.passed && !result.solution && (
              <button type="button" className="secondary" onClick={() => void send(true)} disabled={sending}>
                {sending ? t("quiz.asking") : t("quiz.showAnswers")}
              </button>
            )}
          </div>
          {earlier.length > 0 && (
            <p className="hint">{t("quiz.earlier", { tries: earlier.map((e) => t("quiz.triesItem", { score: e.score, total: result.total })).join(", ") })}</p>
          )}
          {progress?.next && (result.passed || result.solution) && (
            <p className="quiz-next">
              <Link className="button" to={progress.next.href}>
                {progress.next.label}
              </Link>
            </p>
          )}
        </div>
      ) : (
        <div className="quiz-result">
          {waiting ? (
            <p role="status" tabIndex={-1} ref={focus.ref} key="kept" className="notice retrying">
              {t("outbox.saved")}
            </p>
          ) : result && !draft ? (
            <p role="status" tabIndex={-1} ref={focus.ref} key="again" className="hint">
              {result.passed ? t("quiz.keptChangeAny") : t("quiz.keptChange")}
            </p>
          ) : null}
          <button type="button" disabled={draft || !progress || !complete || sending} onClick={() => void send(false)}>
            {sending ? t("quiz.checking") : t("quiz.check")}
          </button>
          {draft ? (
            <span className="hint"> You can check your answers once the lesson is written.</span>
          ) : (
            !complete && <span className="hint"> {t("quiz.answerAll")}</span>
          )}
        </div>
      )}
      {pending?.failed && (
        <div role="alert" className="notice error">
          <p>
            Your answers saved on this device were not sent: {pending.failed}
            {progress?.dismiss && (
              <>
                {" "}
                <button type="button" className="link" onClick={progress.dismiss}>
                  Dismiss
                </button>
              </>
            )}
          </p>
        </div>
      )}
      {error && (
        <p role="alert" tabIndex={-1} ref={focus.ref} className="notice error">
          {error}
        </p>
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
  const { t } = useT();
  return (
    <section className="block video" aria-label={t("blocks.video")}>
      <h3>{t("blocks.video")}</h3>
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
    after.push(block.type === "markdown" ? headingLevelAfter(block.markdown, level) : block.type === "code" || block.type === "diagram" ? level : 3);
  }
  // citations are numbered on through the lesson: a block's first mark follows the last block's
  const firstMark = [1];
  for (const block of blocks) firstMark.push(firstMark[firstMark.length - 1] + (block.type === "markdown" ? (block.citations?.length ?? 0) : 0));
  return (
    <>
      {blocks.map((block, i) => {
        switch (block.type) {
          case "markdown":
            return (
              <MarkdownBlock key={i} text={block.markdown} after={after[i]}>
                {block.citations?.length ? <Citations citations={block.citations} first={firstMark[i]} /> : null}
              </MarkdownBlock>
            );
          case "code":
            return <CodeBlock key={i} language={block.language} code={block.code} caption={block.caption} />;
          case "diagram":
            return <Diagram key={i} source={block.source} caption={block.caption} />;
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
