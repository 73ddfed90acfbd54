import { Link } from "react-router-dom";
import { useTitle } from "../screen";
import { PageHeading } from "./Heading";

/** A friendly dead end with a way back: an unknown route, or a course or lesson that is not there. */
export function NotFound({ what = "Page", courseId }: { what?: string; courseId?: string }) {
  useTitle(`${what} not found`);
  return (
    <main id="main">
      <PageHeading>{what} not found</PageHeading>
      <p>
        This link does not lead to anything of yours: it may be mistyped, deleted, or another user's.
      </p>
      <p className="not-found-links">
        {courseId && (
          <>
            <Link to={`/courses/${courseId}`}>Back to the course</Link>
            {" · "}
          </>
        )}
        <Link to="/">Back to my courses</Link>
      </p>
    </main>
  );
}
