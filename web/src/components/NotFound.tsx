import { Link } from "react-router-dom";
import { InterfaceLanguage, useT } from "../i18n";
import { useTitle } from "../screen";
import { PageHeading } from "./Heading";

type Missing = "page" | "course" | "lesson";

/** A friendly dead end with a way back: an unknown route, or a course or lesson that is not there.
 * A page outside any course speaks the browser's language; a course's or lesson's, the one in force. */
export function NotFound({ what = "page", courseId }: { what?: Missing; courseId?: string }) {
  return what === "page" ? (
    <InterfaceLanguage>
      <Missing what={what} courseId={courseId} />
    </InterfaceLanguage>
  ) : (
    <Missing what={what} courseId={courseId} />
  );
}

function Missing({ what, courseId }: { what: Missing; courseId?: string }) {
  const { t, lang } = useT();
  const title = t(what === "page" ? "notFound.page" : what === "course" ? "notFound.course" : "notFound.lesson");
  useTitle(title);
  return (
    <main id="main" lang={lang}>
      <PageHeading>{title}</PageHeading>
      <p>{t("notFound.text")}</p>
      <p className="not-found-links">
        {courseId && (
          <>
            <Link to={`/courses/${courseId}`}>{t("lesson.back")}</Link>
            {" · "}
          </>
        )}
        <Link to="/">{t("notFound.myCourses")}</Link>
      </p>
    </main>
  );
}
