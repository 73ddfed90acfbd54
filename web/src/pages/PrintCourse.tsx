import { Link, useParams } from "react-router-dom";
import { PageHeading } from "../components/Heading";
import { PrintMarkdown } from "../components/PrintMarkdown";
import { NotFound } from "../components/NotFound";
import { ErrorNotice, isMissing } from "../components/Status";
import { useCourseExport } from "../queries/export";
import { useTitle } from "../screen";
import { useT } from "../i18n";
import { OwnCourseLanguage } from "../components/CourseLanguages";

const ANSWERS = "\n## Quiz answers\n";

/** The whole course on one page, for the browser's Print / Save as PDF: the Markdown export,
 * rendered without raw HTML, its diagrams drawn; each lesson starts a new page, the quiz answers too. */
export function PrintCourse() {
  return (
    <OwnCourseLanguage>
      <PrintScreen />
    </OwnCourseLanguage>
  );
}

function PrintScreen() {
  const { t, lang } = useT();
  const { courseId = "" } = useParams();
  const exported = useCourseExport(courseId);
  const markdown = exported.data?.markdown ?? "";
  const [firstLine, ...rest] = markdown.split("\n");
  const title = firstLine?.replace(/^# /, "") ?? "";
  useTitle(title ? t("print.titled", { title }) : t("print.title"));

  if (isMissing(exported.error)) return <NotFound what="course" />;
  const body = rest.join("\n");
  const cut = body.indexOf(ANSWERS);
  const lessons = cut >= 0 ? body.slice(0, cut) : body;
  const answers = cut >= 0 ? body.slice(cut) : "";
  return (
    <main id="main" className="print-view" lang={lang}>
      <div className="no-print print-bar">
        <Link to={`/courses/${courseId}`}>{t("lesson.back")}</Link>
        <button type="button" onClick={() => window.print()} disabled={!exported.data}>
          {t("print.print")}
        </button>
      </div>
      <PageHeading>{title || t("course.title")}</PageHeading>
      {exported.error && <ErrorNotice error={exported.error} />}
      {!exported.data && !exported.error && <p>{t("common.loading")}</p>}
      {exported.data && (
        <>
          <div className="print-lessons">
            <PrintMarkdown markdown={lessons} />
          </div>
          {answers && (
            <section className="print-answers" aria-label={t("print.answers")}>
              <PrintMarkdown markdown={answers} />
            </section>
          )}
        </>
      )}
    </main>
  );
}
