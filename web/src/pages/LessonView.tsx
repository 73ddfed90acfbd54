import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { AskPanel } from "../components/AskPanel";
import { Blocks, type QuizProgress } from "../components/Blocks";
import { PageHeading } from "../components/Heading";
import { NotFound } from "../components/NotFound";
import { FailedNotice, RetryingNotice } from "../components/Failure";
import { ErrorNotice, isMissing } from "../components/Status";
import { useOutbox, usePending } from "../context";
import { isRetrying, retryingSentence } from "../failures";
import { draftKey, type PendingQuiz } from "../outbox";
import { useLesson, useRegenerateLesson, useRetryLesson, useSelectLessonVersion } from "../queries/lessons";
import { useCourseProgress, useRecordProgress, useSubmitQuiz } from "../queries/progress";
import { useCourseOutline } from "../queries/courses";
import { useSourceNames } from "../queries/sources";
import { SourceNames } from "../components/Citations";
import { useT } from "../i18n";
import { OwnCourseLanguage } from "../components/CourseLanguages";
import { duration, placeOf } from "../pace";
import { useReadingPosition } from "../resume";
import { useFocusNext, useTitle } from "../screen";
import { INSTRUCTION_MAX_CHARS, type Lesson, type LessonContent, type LessonVersion } from "../api/types";
import { VersionCompare } from "../components/VersionCompare";
import type { Translator } from "../i18n";
import { draftOf, restartNotice, useRestartsSeen, writingStatus } from "../writing";

/** A quiz's answers chosen and not sent yet, for the version they were chosen on. */
interface QuizDraft {
  version: string | null;
  answers: (number | null)[];
}

function draftFor(draft: QuizDraft | null, version: string | null | undefined): (number | null)[] | null {
  return draft && Array.isArray(draft.answers) && draft.version === (version ?? null) ? draft.answers : null;
}

/** Who wrote it, without naming an internal model id. */
function authorship(generator: string, t: Translator["t"]): string {
  return generator === "offline" ? t("lesson.authorOffline") : t("lesson.authorModel");
}

/** The lesson in its course's language's interface (i18n). */
export function LessonView() {
  return (
    <OwnCourseLanguage>
      <LessonScreen />
    </OwnCourseLanguage>
  );
}

function LessonScreen() {
  const { courseId = "", lessonId = "" } = useParams();
  const { t, lang } = useT();
  // opening it asks for it now (see useLesson); polled while it is written
  const lesson = useLesson(courseId, lessonId);
  const retryLesson = useRetryLesson(courseId, lessonId, "lesson");
  const data = lesson.data?.data;
  const progress = useCourseProgress(courseId, Boolean(data));
  const record = useRecordProgress(courseId, lessonId);
  const submitQuiz = useSubmitQuiz(courseId, lessonId);
  const outbox = useOutbox();
  const pending = usePending().find((p): p is PendingQuiz => p.kind === "quiz" && p.courseId === courseId && p.lessonId === lessonId);
  const mine = progress.data?.lessons.find((p) => p.lessonId === lessonId);
  const retried = useFocusNext();
  const course = useCourseOutline(courseId);
  const place = course.data ? placeOf(course.data, lessonId) : null;
  const sourceNames = useSourceNames(course.data?.sourceIds); // for the citations' filenames
  const article = useRef<HTMLElement>(null);
  const savePosition = useRecordProgress(courseId, lessonId);
  const written = data?.status === "GENERATED" ? data.content : null;
  // the version last shown written: kept on screen while a rewrite of it is written
  const [before, setBefore] = useState<{ lessonId: string; version: number; content: LessonContent } | null>(null);
  useEffect(() => {
    if (data?.status === "GENERATED" && data.content) {
      setBefore({ lessonId: data.id, version: data.version ?? 1, content: data.content });
    }
  }, [data]);
  // restored once per visit of the lesson: a rewrite or a version switch replaces the text in place
  const resumed = useReadingPosition(
    article,
    lessonId,
    Boolean(written),
    progress.data ? (mine ?? null) : undefined,
    (position) => savePosition.mutate({ position }),
  );

  // opened: recorded once per visit (idempotent on the API: the first time is kept)
  const opened = useRef("");
  useEffect(() => {
    if (data && opened.current !== lessonId) {
      opened.current = lessonId;
      record.mutate({ opened: true });
    }
  }, [data, lessonId, record]);
  useTitle(data?.title ?? t("lesson.title"));
  const restarts = useRestartsSeen(`${lessonId}:${data?.version ?? 1}`, data?.progress?.restarts);

  // a lesson removed from a course it is still in: the way back to that course (a missing course says so itself)
  if (isMissing(lesson.error)) return <NotFound what="lesson" courseId={course.data ? courseId : undefined} />;
  const crumbs = (
    <p className="crumbs">
      <Link to={`/courses/${courseId}`}>{t("lesson.back")}</Link>
    </p>
  );
  // Both returns put <main> under the same provider: a tree that changed shape when the lesson
  // arrived would mount a new heading, and the focus it got on arrival would drop to the body.
  if (!data)
    return (
      <SourceNames.Provider value={sourceNames}>
        <main id="main" className="lesson" lang={lang}>
          {crumbs}
          <PageHeading>{t("lesson.title")}</PageHeading>
          {lesson.error ? <ErrorNotice error={lesson.error} /> : <p>{t("common.loading")}</p>}
        </main>
      </SourceNames.Provider>
    );
  const quizDraft = draftKey(courseId, lessonId, "quiz");
  const nextHref = data.nextLessonId ? `/courses/${courseId}/lessons/${data.nextLessonId}` : null;
  const quiz: QuizProgress = {
    result: mine?.quiz ?? null,
    version: data.generatedAt ?? null,
    submit: (answers, reveal) => submitQuiz.mutateAsync({ answers, reveal }),
    pending: pending ?? null,
    dismiss: () => pending && outbox.remove(pending),
    // answers chosen on this version and not sent yet (another version's are not restored)
    draft: draftFor(outbox.draft<QuizDraft>(quizDraft), data.generatedAt),
    saveDraft: (answers) => outbox.setDraft(quizDraft, { version: data.generatedAt ?? null, answers } satisfies QuizDraft),
    // the next step, right after the result (not below Ask and Rewrite)
    // named apart from the pager's "Next lesson →" and the crumb's "Back to the course"
    next: nextHref ? { href: nextHref, label: t("quiz.nextStep") } : { href: `/courses/${courseId}`, label: t("quiz.backStep") },
  };
  const retry = () => {
    retried.request();
    retryLesson.mutate();
  };
  const done = Boolean(mine?.completedAt);
  // a rewrite being written: the version read until now stays, in place, until the new one is ready
  const rewriting =
    !written && before?.lessonId === lessonId && (data.status === "PENDING" || data.status === "GENERATING") && (data.version ?? 1) > before.version
      ? before
      : null;
  const draft = written || rewriting ? null : draftOf(data);
  const shown = written ? written.blocks : rewriting ? rewriting.content.blocks : (draft?.blocks ?? []);
  // One <article> for the draft and the final lesson, the same <Blocks> (same key) inside: the
  // final content replaces the draft in place, so what was read does not move. Everything that
  // differs (the status; completion and authorship) comes after the blocks.
  return (
    <SourceNames.Provider value={sourceNames}>
    <main id="main" className="lesson" lang={lang}>
      {crumbs}
      <PageHeading>{data.title}</PageHeading>
      {/* after the heading: the heading keeps its place (and the focus it got on arrival) */}
      {place && (
        <p className="place">
          <span>{t("lesson.place", { n: place.number, total: place.total })}</span>
          <span>{t("lesson.module", { n: place.moduleNumber, total: place.moduleCount, title: place.moduleTitle })}</span>
          {typeof data.readingMinutes === "number" && <span>{t("lesson.readTime", { time: duration(data.readingMinutes, t) })}</span>}
        </p>
      )}
      <p className="lead">{data.summary}</p>
      {resumed && (
        <p role="status" className="resumed-note">
          {t("lesson.resumed")}{" "}
          <button type="button" className="link" onClick={() => window.scrollTo({ top: 0 })}>
            {t("lesson.backToTop")}
          </button>
        </p>
      )}
      {(data.versions?.length ?? 0) > 1 && <VersionSwitch courseId={courseId} lessonId={lessonId} lesson={data} />}
      {lesson.error && <ErrorNotice error={lesson.error} />}
      {rewriting && (
        <p className="notice building rewriting-note">{t("lesson.rewriting", { next: data.version ?? 1, shown: rewriting.version })}</p>
      )}
      {written || rewriting || (draft && (draft.blocks.length > 0 || draft.writing)) ? (
        <article className={written || rewriting ? "lesson-body" : "lesson-body draft"} ref={article}>
          <Blocks
            key={`${lessonId}:v${rewriting ? rewriting.version : (data.version ?? 1)}`}
            blocks={shown}
            quiz={written ? quiz : undefined}
            writing={draft?.writing ?? null}
            draft={!written}
          />
          {written || rewriting ? (
            <>
              {rewriting && <Writing lesson={data} restarts={restarts} />}
              <Completion done={done} by={mine?.completedBy ?? null} busy={record.isPending} onChange={(completed) => record.mutate({ completed })} />
              <p className="hint authorship">{authorship((written ?? rewriting!.content).generator, t)}</p>
            </>
          ) : (
            <Writing lesson={data} restarts={restarts} focusRef={retried.ref} />
          )}
        </article>
      ) : data.status === "FAILED" ? (
        <FailedNotice subject="lesson" item={data} onRetry={retry} busy={retryLesson.isPending} error={retryLesson.error} alert />
      ) : (
        <Writing lesson={data} restarts={restarts} focusRef={retried.ref} />
      )}
      {(written || rewriting) && <AskPanel courseId={courseId} lessonId={lessonId} />}
      {(data.status === "GENERATED" || rewriting) && (
        <Rewrite courseId={courseId} lessonId={lessonId} lesson={data} />
      )}
      <nav className="pager" aria-label={t("lesson.lessons")}>
        {data.previousLessonId ? (
          <Link to={`/courses/${courseId}/lessons/${data.previousLessonId}`} rel="prev">
            {t("lesson.previous")}
          </Link>
        ) : (
          <span />
        )}
        {data.nextLessonId && (
          <Link to={`/courses/${courseId}/lessons/${data.nextLessonId}`} rel="next">
            {t("lesson.next")}
          </Link>
        )}
      </nav>
    </main>
    </SourceNames.Provider>
  );
}

/** Says the lesson is still being written: one live status, after the blocks (kept in view at
 * the bottom of the window), changing once per finished block, never with each word. After a
 * failed attempt: what failed, and when and which attempt comes next (never "started again" as
 * if it were progress). `focusRef`: gets focus after Retry. */
function Writing({ lesson, restarts, focusRef }: { lesson: Lesson; restarts: number; focusRef?: (element: HTMLElement | null) => void }) {
  const translator = useT();
  const { t } = translator;
  const expected = lesson.progress?.blocksExpected ?? null;
  if (lesson.status === "PENDING" && isRetrying(lesson)) {
    return (
      <div className="writing-status" tabIndex={-1} ref={focusRef} key="retrying">
        <RetryingNotice subject="lesson" item={lesson} />
      </div>
    );
  }
  // a failed attempt's restart is said by the failure, not counted as the writing starting again
  const restarted = lesson.error ? null : restartNotice(restarts, "lesson", translator);
  const failed = lesson.status === "GENERATING" ? retryingSentence("lesson", lesson, Date.now(), translator) : null;
  return (
    <div role="status" className="notice building writing-status" aria-live="polite" tabIndex={-1} ref={focusRef} key="writing">
      {failed && <p className="failed-attempt">{failed}</p>}
      <p>
        <span className="spinner" aria-hidden="true" /> {writingStatus(lesson, translator)}
        {lesson.partial?.blocks.length || lesson.partial?.writing ? ` ${t("lesson.notFinal")}` : ""}
      </p>
      {restarted && <p className="restarted">{restarted}</p>}
      {expected && (lesson.progress?.blocksWritten ?? 0) < expected ? (
        <progress className="working" aria-label={t("lesson.writingLabel")} max={expected} value={lesson.progress?.blocksWritten ?? 0} />
      ) : (
        <progress className="working" aria-label={t("lesson.writingLabel")} />
      )}
    </div>
  );
}

function Completion({
  done,
  by,
  busy,
  onChange,
}: {
  done: boolean;
  by: "learner" | "quiz" | null;
  busy: boolean;
  onChange: (completed: boolean) => void;
}) {
  const { t } = useT();
  return (
    <div className="completion">
      {done ? (
        <>
          <p className="done-note">{by === "quiz" ? t("lesson.completedByQuiz") : t("lesson.completed")}</p>
          <button type="button" className="secondary" disabled={busy} onClick={() => onChange(false)}>
            {t("lesson.markNotCompleted")}
          </button>
        </>
      ) : (
        <button type="button" disabled={busy} onClick={() => onChange(true)}>
          {t("lesson.markCompleted")}
        </button>
      )}
    </div>
  );
}

function versionLabel(version: LessonVersion, { t, date }: Translator): string {
  const when = version.generatedAt ? date(version.generatedAt) : t("versions.beingWritten"); // Intl, in the course's language
  const text = version.instruction && (version.instruction.length > 60 ? version.instruction.slice(0, 57) + "…" : version.instruction);
  const how = text ? t("versions.quoted", { text }) : t("versions.first");
  return t("versions.option", { n: version.number, when, how });
}

/** Rewrite the lesson with an instruction (at the end of the lesson: what to change is known once
 * read). The version shown stays readable, in place, while the new one is written. */
function Rewrite({ courseId, lessonId, lesson }: { courseId: string; lessonId: string; lesson: Lesson }) {
  const { t } = useT();
  const [instruction, setInstruction] = useState("");
  const asked = useFocusNext();
  const regenerate = useRegenerateLesson(courseId, lessonId, { onSuccess: () => setInstruction("") });
  const over = instruction.length - INSTRUCTION_MAX_CHARS;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (over > 0 || !instruction.trim() || regenerate.isPending) return;
    asked.request();
    regenerate.mutate({ instruction: instruction.trim(), version: lesson.version });
  };
  const writing = lesson.status === "PENDING" || lesson.status === "GENERATING";
  return (
    <section className="versions no-print" aria-label={t("rewrite.heading")}>
      <h2>{t("rewrite.heading")}</h2>
      {lesson.status === "GENERATED" ? (
        <form onSubmit={submit}>
          <label htmlFor="instruction">{t("rewrite.label")}</label>
          <textarea
            id="instruction"
            rows={2}
            value={instruction}
            onChange={(e) => setInstruction(e.target.value)}
            aria-describedby="instruction-count"
            aria-invalid={over > 0}
            placeholder={t("rewrite.placeholder")}
          />
          <p id="instruction-count" className={over > 0 ? "hint too-long" : "hint"} aria-live="polite">
            {t("common.characters", { count: String(instruction.length), max: String(INSTRUCTION_MAX_CHARS) })}
            {over > 0 ? `: ${t("common.tooMany", { over })}` : "."} {t("rewrite.kept")}
          </p>
          <button type="submit" disabled={regenerate.isPending || over > 0 || !instruction.trim()}>
            {regenerate.isPending ? t("quiz.asking") : t("rewrite.submit")}
          </button>
          {regenerate.error && <ErrorNotice error={regenerate.error} />}
        </form>
      ) : writing ? (
        <p className="hint" tabIndex={-1} ref={asked.ref}>
          {t("rewrite.writing", { n: lesson.version ?? 1 })}
        </p>
      ) : null}
    </section>
  );
}

/** Switch between the versions kept, near the top: which one is shown, the others with their
 * instruction and time; switching says what it did (focus goes there). Progress is kept. Any
 * earlier version kept can be compared with the current one, side by side (read from the API). */
function VersionSwitch({ courseId, lessonId, lesson }: { courseId: string; lessonId: string; lesson: Lesson }) {
  const translator = useT();
  const { t } = translator;
  const versions = lesson.versions ?? [];
  const current = versions.find((v) => v.current)?.number ?? lesson.version ?? 1;
  const [chosen, setChosen] = useState<number | null>(null);
  const [switched, setSwitched] = useState<number | null>(null);
  const [comparing, setComparing] = useState<number | null>(null);
  const compareButton = useRef<HTMLButtonElement>(null);
  const switches = useRef(0); // keys the status: one mount per switch, whatever re-renders follow
  const shown = useFocusNext();
  const select = useSelectLessonVersion(courseId, lessonId, {
    onSuccess: () => {
      switches.current += 1;
      setSwitched(chosen);
      setChosen(null);
      setComparing(null);
    },
  });
  const writing = lesson.status === "PENDING" || lesson.status === "GENERATING";
  const label = versions.find((v) => v.number === switched);
  // what is compared: the version chosen (or, none chosen, the newest earlier one) with the one shown
  const candidate = chosen !== null && chosen !== current ? chosen : (versions.filter((v) => !v.current).at(-1)?.number ?? null);
  const now =
    lesson.status === "GENERATED" && lesson.content
      ? { number: lesson.version ?? current, generatedAt: lesson.generatedAt ?? null, blocks: lesson.content.blocks }
      : null;
  // open while the version compared is still the one chosen (choosing another closes it)
  const open = comparing !== null && comparing === candidate && now ? comparing : null;
  const close = () => {
    setComparing(null);
    compareButton.current?.focus(); // back to the control that opened it
  };
  return (
    <section className="version-switch no-print" aria-label={t("versions.region")}>
      <label htmlFor="version">{t("versions.label")}</label>
      <select
        id="version"
        value={chosen ?? current}
        disabled={writing || select.isPending}
        onChange={(e) => setChosen(Number(e.target.value))}
      >
        {versions.map((v) => (
          <option key={v.number} value={v.number}>
            {versionLabel(v, translator)}
            {v.current ? ` ${t("versions.shown")}` : ""}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="secondary"
        disabled={writing || select.isPending || chosen === null || chosen === current}
        onClick={() => {
          if (chosen === null) return;
          shown.request(); // the button is disabled once it is shown: focus goes to what it did
          select.mutate(chosen);
        }}
      >
        {t("versions.show")}
      </button>
      <button
        type="button"
        className="secondary"
        ref={compareButton}
        aria-expanded={open !== null}
        aria-controls={open !== null ? "version-compare" : undefined}
        disabled={writing || candidate === null || !now}
        onClick={() => (open !== null ? close() : setComparing(candidate))}
      >
        {candidate !== null ? t("compare.button", { n: candidate }) : t("compare.buttonNone")}
      </button>
      {switched !== null && (
        <p role="status" className="notice finished switched" tabIndex={-1} ref={shown.ref} key={`shown-${switches.current}`}>
          {label?.instruction
            ? t("versions.nowShowingInstruction", { n: switched, instruction: label.instruction })
            : label
              ? t("versions.nowShowingFirst", { n: switched })
              : t("versions.nowShowing", { n: switched })}
        </p>
      )}
      {writing && <p className="hint">{t("versions.writing")}</p>}
      {select.error && <ErrorNotice error={select.error} />}
      {open !== null && now && (
        <div id="version-compare">
          <VersionCompare courseId={courseId} lessonId={lessonId} number={open} current={now} onClose={close} />
        </div>
      )}
    </section>
  );
}
