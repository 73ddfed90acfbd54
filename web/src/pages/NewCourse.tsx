import { useCallback, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { PageHeading } from "../components/Heading";
import { ErrorNotice } from "../components/Status";
import { SourcesField, type SourcesChoice } from "../components/SourcesField";
import { useCreateCourse } from "../queries/courses";
import { useTitle } from "../screen";
import { InterfaceLanguage, useT, type Key } from "../i18n";
import { LANGUAGE_PATTERN, PROMPT_MAX_CHARS, type CreateCourse, type Level } from "../api/types";

type Size = NonNullable<CreateCourse["size"]>;

/** Topics a new learner can start from (a click puts one in the box, to send or change). */
const EXAMPLES: Key[] = ["new.example1", "new.example2", "new.example3", "new.example4"];

/** A new course, in the browser's language (outside any course). */
export function NewCourse() {
  return (
    <InterfaceLanguage>
      <NewCourseForm />
    </InterfaceLanguage>
  );
}

function NewCourseForm() {
  const { t, lang } = useT();
  const navigate = useNavigate();
  const [prompt, setPrompt] = useState("");
  const [level, setLevel] = useState<Level | "">("");
  const [size, setSize] = useState<Size | "">("");
  const [language, setLanguage] = useState("");
  // One key per intended course: a double click or a retry after a network error sends the
  // same key, so the API returns the same course instead of creating a second one.
  const idempotencyKey = useRef(crypto.randomUUID());
  // the learner's files the course is grounded in (issue 24): only READY ones are sent
  const [sources, setSources] = useState<SourcesChoice>({ ready: [], busy: 0 });
  const chooseSources = useCallback((choice: SourcesChoice) => {
    setSources(choice);
    idempotencyKey.current = crypto.randomUUID();
  }, []);

  const create = useCreateCourse({ onSuccess: (course) => navigate(`/courses/${course.id}`) });
  const over = prompt.length - PROMPT_MAX_CHARS;
  useTitle(t("new.title"));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (over > 0) return; // refused here, never cut: the learner decides what to keep
    if (create.isPending || sources.busy > 0) return;
    create.mutate({
      body: { prompt, ...(sources.ready.length ? { sources: sources.ready } : {}), ...(level ? { level } : {}), ...(size ? { size } : {}), ...(language.trim() ? { language: language.trim() } : {}) },
      idempotencyKey: idempotencyKey.current,
    });
  };
  const edit = (value: string) => {
    setPrompt(value);
    idempotencyKey.current = crypto.randomUUID(); // a different request deserves a new key
  };
  return (
    <main id="main" className="narrow" lang={lang}>
      <PageHeading>{t("new.title")}</PageHeading>
      <form onSubmit={submit}>
        <label htmlFor="prompt">{t("new.prompt")}</label>
        <textarea
          id="prompt"
          value={prompt}
          onChange={(e) => edit(e.target.value)}
          minLength={3}
          required
          rows={4}
          aria-describedby="prompt-count"
          aria-invalid={over > 0}
          placeholder={t("new.example1")}
        />
        <p id="prompt-count" className={over > 0 ? "hint too-long" : "hint"} aria-live="polite">
          {t("common.characters", { count: String(prompt.length), max: String(PROMPT_MAX_CHARS) })}
          {over > 0 && `: ${t("common.tooMany", { over })} ${t("new.shorten")}`}
        </p>
        <div className="examples" role="group" aria-label={t("new.examples")}>
          <span className="hint">{t("new.forExample")}</span>
          {EXAMPLES.map((example) => (
            <button key={example} type="button" className="chip" onClick={() => edit(t(example))}>
              {t(example)}
            </button>
          ))}
        </div>
        <div className="row">
          <label>
            {t("new.level")}
            <select value={level} onChange={(e) => setLevel(e.target.value as Level | "")}>
              <option value="">{t("new.levelAny")}</option>
              <option value="beginner">{t("new.levelBeginner")}</option>
              <option value="intermediate">{t("new.levelIntermediate")}</option>
              <option value="advanced">{t("new.levelAdvanced")}</option>
            </select>
          </label>
          <label>
            {t("new.size")}
            <select value={size} onChange={(e) => setSize(e.target.value as Size | "")} aria-describedby="size-hint">
              <option value="">{t("new.sizeStandard")}</option>
              <option value="short">{t("new.sizeShort")}</option>
              <option value="long">{t("new.sizeLong")}</option>
            </select>
          </label>
        </div>
        <p id="size-hint" className="hint">
          {t("new.sizeHint")}
        </p>
        <label htmlFor="language">{t("new.language")}</label>
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
          placeholder={t("new.languagePlaceholder")}
          autoComplete="off"
        />
        <p id="language-hint" className="hint">
          {t("new.languageHint")}
        </p>
        <SourcesField onChange={chooseSources} />
        {sources.busy > 0 && (
          <p id="sources-wait" className="hint">
            {t("sources.wait", { n: sources.busy })}
          </p>
        )}
        <button type="submit" disabled={create.isPending || over > 0 || sources.busy > 0} aria-describedby={sources.busy > 0 ? "sources-wait" : undefined}>
          {create.isPending ? t("new.creating") : t("new.create")}
        </button>
        {create.error && <ErrorNotice error={create.error} />}
      </form>
    </main>
  );
}
