import { useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { PageHeading } from "../components/Heading";
import { ErrorNotice } from "../components/Status";
import { useCreateCourse } from "../queries/courses";
import { useTitle } from "../screen";
import { LANGUAGE_PATTERN, PROMPT_MAX_CHARS, type CreateCourse, type Level } from "../api/types";

type Size = NonNullable<CreateCourse["size"]>;

/** Topics a new learner can start from (a click puts one in the box, to send or change). */
const EXAMPLES = [
  "Rust ownership for C++ programmers",
  "Statistics for A/B tests, with Python",
  "Photosynthesis for a curious 12-year-old",
  "Negotiating a salary offer",
];

export function NewCourse() {
  const navigate = useNavigate();
  const [prompt, setPrompt] = useState("");
  const [level, setLevel] = useState<Level | "">("");
  const [size, setSize] = useState<Size | "">("");
  const [language, setLanguage] = useState("");
  // One key per intended course: a double click or a retry after a network error sends the
  // same key, so the API returns the same course instead of creating a second one.
  const idempotencyKey = useRef(crypto.randomUUID());

  const create = useCreateCourse({ onSuccess: (course) => navigate(`/courses/${course.id}`) });
  const over = prompt.length - PROMPT_MAX_CHARS;
  useTitle("New course");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (over > 0) return; // refused here, never cut: the learner decides what to keep
    if (create.isPending) return;
    create.mutate({
      body: { prompt, ...(level ? { level } : {}), ...(size ? { size } : {}), ...(language.trim() ? { language: language.trim() } : {}) },
      idempotencyKey: idempotencyKey.current,
    });
  };
  const edit = (value: string) => {
    setPrompt(value);
    idempotencyKey.current = crypto.randomUUID(); // a different request deserves a new key
  };
  return (
    <main id="main" className="narrow">
      <PageHeading>New course</PageHeading>
      <form onSubmit={submit}>
        <label htmlFor="prompt">What do you want to learn?</label>
        <textarea
          id="prompt"
          value={prompt}
          onChange={(e) => edit(e.target.value)}
          minLength={3}
          required
          rows={4}
          aria-describedby="prompt-count"
          aria-invalid={over > 0}
          placeholder="Rust ownership for C++ programmers"
        />
        <p id="prompt-count" className={over > 0 ? "hint too-long" : "hint"} aria-live="polite">
          {prompt.length}/{PROMPT_MAX_CHARS} characters
          {over > 0 && `: ${over} too many. Shorten it to create the course.`}
        </p>
        <div className="examples" role="group" aria-label="Example topics">
          <span className="hint">For example:</span>
          {EXAMPLES.map((example) => (
            <button key={example} type="button" className="chip" onClick={() => edit(example)}>
              {example}
            </button>
          ))}
        </div>
        <div className="row">
          <label>
            Level
            <select value={level} onChange={(e) => setLevel(e.target.value as Level | "")}>
              <option value="">any</option>
              <option value="beginner">beginner</option>
              <option value="intermediate">intermediate</option>
              <option value="advanced">advanced</option>
            </select>
          </label>
          <label>
            Size
            <select value={size} onChange={(e) => setSize(e.target.value as Size | "")} aria-describedby="size-hint">
              <option value="">standard: 4 modules, 12 lessons</option>
              <option value="short">short: 3 modules, 6 lessons</option>
              <option value="long">long: 6 modules, 24 lessons</option>
            </select>
          </label>
        </div>
        <p id="size-hint" className="hint">
          A lesson takes about 5 to 10 minutes to read, with its quiz. Lessons are written when you open them.
        </p>
        <label htmlFor="language">Language (optional)</label>
        <input
          id="language"
          value={language}
          onChange={(e) => {
            setLanguage(e.target.value);
            idempotencyKey.current = crypto.randomUUID();
          }}
          maxLength={40}
          pattern={LANGUAGE_PATTERN}
          aria-describedby="language-hint"
          placeholder="e.g. German, Hinglish, Portuguese (Brazil)"
          autoComplete="off"
        />
        <p id="language-hint" className="hint">
          The course is written in this language. Letters, spaces, hyphens and parentheses, 2 to 40 characters; empty:
          the language of your topic.
        </p>
        <button type="submit" disabled={create.isPending || over > 0}>
          {create.isPending ? "Creating…" : "Create course"}
        </button>
        {create.error && <ErrorNotice error={create.error} />}
      </form>
    </main>
  );
}
