import { useEffect, useState, type FormEvent } from "react";
import { ErrorNotice } from "../components/Status";
import { ApiError } from "../api/client";
import { useEditOutline } from "../queries/courses";
import type { CourseDetail, OutlineEdit } from "../api/types";
import { useT } from "../i18n";

interface DraftLesson {
  key: string;
  id?: string;
  title: string;
  generated: boolean;
}
interface DraftModule {
  key: string;
  id?: string;
  title: string;
  lessons: DraftLesson[];
}

let fresh = 0;
const newKey = () => `new-${++fresh}`;

function draftOf(course: CourseDetail): DraftModule[] {
  return course.modules.map((m) => ({
    key: m.id,
    id: m.id,
    title: m.title,
    lessons: m.lessons.map((l) => ({ key: l.id, id: l.id, title: l.title, generated: l.status === "GENERATED" })),
  }));
}

function move<T>(items: T[], from: number, to: number): T[] {
  if (to < 0 || to >= items.length) return items;
  const copy = [...items];
  const [item] = copy.splice(from, 1);
  copy.splice(to, 0, item);
  return copy;
}

/** Rename, add, remove and reorder lessons and modules, saved as one edit guarded by the course's
 * version. Lessons keep their ids (and so their content and progress); removal asks first. */
export function OutlineEditor({ course, onDone }: { course: CourseDetail; onDone: () => void }) {
  const { t } = useT();
  const [modules, setModules] = useState<DraftModule[]>(() => draftOf(course));
  const [confirming, setConfirming] = useState(false);
  // the row just added: its title field gets focus (and its placeholder title selected), so what
  // is typed next names it, rather than pressing "Add" again with each space
  const [added, setAdded] = useState<string | null>(null);
  useEffect(() => {
    if (added === null) return;
    const field = document.getElementById(added) as HTMLInputElement | null;
    field?.focus();
    field?.select();
    setAdded(null);
  }, [added]);
  const kept = new Set(modules.flatMap((m) => m.lessons.map((l) => l.id)).filter(Boolean));
  const removed = course.modules.flatMap((m) => m.lessons).filter((l) => !kept.has(l.id));
  const save = useEditOutline(course.id, { onSuccess: onDone });
  const stale = save.error instanceof ApiError && save.error.status === 409;
  const update = (index: number, change: (module: DraftModule) => DraftModule) =>
    setModules((all) => all.map((m, i) => (i === index ? change(m) : m)));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (removed.length > 0 && !confirming) {
      setConfirming(true);
      return;
    }
    const edit: OutlineEdit = {
      version: course.version ?? 1,
      modules: modules.map((m) => ({
        ...(m.id ? { id: m.id } : {}),
        title: m.title.trim(),
        lessons: m.lessons.map((l) => ({ ...(l.id ? { id: l.id } : {}), title: l.title.trim() })),
      })),
    };
    save.mutate(edit);
  };
  return (
    <form className="outline-editor" onSubmit={submit} aria-label={t("outline.region")}>
      {modules.map((module, m) => (
        <fieldset key={module.key} className="module-edit">
          <legend>{t("outline.module", { n: m + 1 })}</legend>
          <div className="edit-row">
            <label className="visually-hidden" htmlFor={`module-${module.key}`}>
              {t("outline.moduleTitle", { n: m + 1 })}
            </label>
            <input
              id={`module-${module.key}`}
              value={module.title}
              required
              maxLength={200}
              onChange={(e) => update(m, (x) => ({ ...x, title: e.target.value }))}
            />
            <button type="button" className="secondary" aria-label={t("outline.moduleUp", { n: m + 1 })} disabled={m === 0} onClick={() => setModules((all) => move(all, m, m - 1))}>
              ↑
            </button>
            <button type="button" className="secondary" aria-label={t("outline.moduleDown", { n: m + 1 })} disabled={m === modules.length - 1} onClick={() => setModules((all) => move(all, m, m + 1))}>
              ↓
            </button>
          </div>
          <ol className="lesson-edits">
            {module.lessons.map((lesson, n) => (
              <li key={lesson.key} className="edit-row">
                <label className="visually-hidden" htmlFor={`lesson-${lesson.key}`}>
                  {t("outline.lessonTitle", { n: n + 1, m: m + 1 })}
                </label>
                <input
                  id={`lesson-${lesson.key}`}
                  value={lesson.title}
                  required
                  maxLength={200}
                  onChange={(e) =>
                    update(m, (x) => ({ ...x, lessons: x.lessons.map((l, i) => (i === n ? { ...l, title: e.target.value } : l)) }))
                  }
                />
                {lesson.generated && <span className="badge ok">{t("outline.written")}</span>}
                <button type="button" className="secondary" aria-label={t("outline.lessonUp", { title: lesson.title })} disabled={n === 0 && m === 0} onClick={() => setModules((all) => shiftLesson(all, m, n, -1))}>
                  ↑
                </button>
                <button
                  type="button"
                  className="secondary"
                  aria-label={t("outline.lessonDown", { title: lesson.title })}
                  disabled={n === module.lessons.length - 1 && m === modules.length - 1}
                  onClick={() => setModules((all) => shiftLesson(all, m, n, 1))}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="link danger"
                  aria-label={t("outline.removeNamed", { title: lesson.title })}
                  disabled={module.lessons.length === 1}
                  onClick={() => {
                    setConfirming(false);
                    update(m, (x) => ({ ...x, lessons: x.lessons.filter((_, i) => i !== n) }));
                  }}
                >
                  {t("outline.remove")}
                </button>
              </li>
            ))}
          </ol>
          <button
            type="button"
            className="link"
            onClick={() => {
              const key = newKey();
              update(m, (x) => ({ ...x, lessons: [...x.lessons, { key, title: t("outline.newLesson"), generated: false }] }));
              setAdded(`lesson-${key}`);
            }}
          >
            {t("outline.addLesson", { n: m + 1 })}
          </button>
        </fieldset>
      ))}
      <button
        type="button"
        className="link"
        onClick={() => {
          const key = newKey();
          setModules((all) => [...all, { key, title: t("outline.newModule"), lessons: [{ key: newKey(), title: t("outline.newLesson"), generated: false }] }]);
          setAdded(`module-${key}`);
        }}
      >
        {t("outline.addModule")}
      </button>
      {confirming && removed.length > 0 && (
        <div className="notice error" role="alert">
          <p>
            {t(removed.length === 1 ? "outline.confirmOne" : "outline.confirmMany", {
              count: removed.length,
              titles: removed.map((l) => `“${l.title}”`).join(", "),
            })}
          </p>
        </div>
      )}
      {stale && (
        <p className="notice error" role="alert">
          {t("outline.stale")}
        </p>
      )}
      {save.error && !stale && <ErrorNotice error={save.error} />}
      <div className="edit-actions">
        <button type="submit" disabled={save.isPending}>
          {confirming && removed.length > 0 ? t("outline.removeAndSave") : save.isPending ? t("outline.saving") : t("outline.save")}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}

/** Moves a lesson up or down; past its module's edge it goes to the neighbouring module. */
function shiftLesson(modules: DraftModule[], m: number, n: number, step: -1 | 1): DraftModule[] {
  const lessons = modules[m].lessons;
  const target = n + step;
  if (target >= 0 && target < lessons.length) {
    return modules.map((x, i) => (i === m ? { ...x, lessons: move(x.lessons, n, target) } : x));
  }
  const other = m + step;
  if (other < 0 || other >= modules.length || lessons.length === 1) return modules;
  const lesson = lessons[n];
  return modules.map((x, i) => {
    if (i === m) return { ...x, lessons: x.lessons.filter((_, j) => j !== n) };
    if (i === other) return { ...x, lessons: step === 1 ? [lesson, ...x.lessons] : [...x.lessons, lesson] };
    return x;
  });
}
