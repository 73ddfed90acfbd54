import "highlight.js/styles/github.css";
import { useId, useState } from "react";
import Markdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import type { Block, QuizQuestion } from "../types";

// Model output is untrusted: react-markdown renders no raw HTML, links open safely,
// and code is shown as text with highlighting, never executed.
export function MarkdownBlock({ text }: { text: string }) {
  return (
    <div className="block markdown">
      <Markdown
        rehypePlugins={[rehypeHighlight]}
        skipHtml
        components={{ a: ({ href, children }) => <a href={href} target="_blank" rel="noopener noreferrer nofollow">{children}</a> }}
      >
        {text}
      </Markdown>
    </div>
  );
}

export function CodeBlock({ language, code, caption }: { language: string; code: string; caption: string }) {
  const fenced = "```" + language + "\n" + code.replace(/```/g, "ʼʼʼ") + "\n```";
  return (
    <figure className="block code">
      <Markdown rehypePlugins={[rehypeHighlight]} skipHtml>
        {fenced}
      </Markdown>
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

function Question({ question, index }: { question: QuizQuestion; index: number }) {
  const [chosen, setChosen] = useState<number | null>(null);
  const [checked, setChecked] = useState(false);
  const name = useId();
  const correct = chosen === question.answer_index;
  return (
    <fieldset className="question">
      <legend>
        {index + 1}. {question.question}
      </legend>
      {question.options.map((option, i) => (
        <label key={i} className={checked && i === question.answer_index ? "option right" : "option"}>
          <input
            type="radio"
            name={name}
            value={i}
            checked={chosen === i}
            onChange={() => {
              setChosen(i);
              setChecked(false);
            }}
          />
          {option}
        </label>
      ))}
      <button type="button" disabled={chosen === null} onClick={() => setChecked(true)}>
        Check answer
      </button>
      {checked && (
        <p role="status" className={correct ? "verdict right" : "verdict wrong"}>
          {correct ? "Correct." : `Not quite: the answer is “${question.options[question.answer_index]}”.`}{" "}
          {question.explanation}
        </p>
      )}
    </fieldset>
  );
}

export function Quiz({ questions }: { questions: QuizQuestion[] }) {
  return (
    <section className="block quiz" aria-label="Quiz">
      <h3>Check yourself</h3>
      {questions.map((question, i) => (
        <Question key={i} question={question} index={i} />
      ))}
    </section>
  );
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

export function Blocks({ blocks }: { blocks: Block[] }) {
  return (
    <>
      {blocks.map((block, i) => {
        switch (block.type) {
          case "markdown":
            return <MarkdownBlock key={i} text={block.markdown} />;
          case "code":
            return <CodeBlock key={i} language={block.language} code={block.code} caption={block.caption} />;
          case "key_points":
            return <KeyPoints key={i} points={block.points} />;
          case "quiz":
            return <Quiz key={i} questions={block.questions} />;
          case "video":
            return <Video key={i} title={block.title} url={block.url} />;
          default:
            return null;
        }
      })}
    </>
  );
}
