// The API's shapes (camelCase on the wire), under the names the app uses, all derived from
// schema.d.ts: the types openapi-typescript generates from the OpenAPI document the api serves
// (scripts/api-types.sh). Nothing here is written by hand but the names and the limits below,
// so a change to the API shows up as a type error where the app relies on the old shape.
//
// Each name is one line: when a schema is renamed in the document, only its line changes.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type CourseStatus = Schemas["CourseStatus"];
export type LessonStatus = Schemas["LessonStatus"];
export type Priority = Schemas["Priority"];
export type Level = Schemas["Level"];
export type Usage = Schemas["Usage"];

/** A course as the list shows it (and POST /courses answers). */
export type CourseSummary = Schemas["CourseView"];
export type CourseDetail = Schemas["CourseDetail"];
export type CoursePage = Schemas["CoursePage"];
export type Module = Schemas["ModuleView"];
export type LessonSummary = Schemas["LessonSummary"];
/** The outline so far, as GET /courses/{id} serves it while the course is GENERATING. Never final. */
export type PartialOutline = Schemas["PartialOutline"];

export type Lesson = Schemas["LessonView"];
/** A written lesson as a learner gets it: a quiz's questions come without their answers. */
export type LessonContent = Schemas["LessonContentView"];
export type Block = LessonContent["blocks"][number];
export type QuizQuestion = Schemas["QuizQuestionView"];
/** The finished blocks of a lesson still being written, and the markdown being written now.
 * Never final: `content` is (design invariant 9). */
export type PartialContent = Schemas["PartialContentView"];
/** How far the writing of a lesson has got, while it is not GENERATED. */
export type WritingProgress = Schemas["WritingProgress"];
export type LessonVersion = Schemas["LessonVersionSummary"];
/** One version of a lesson as written (GET .../versions/{n}): the current one or one it keeps. */
export type LessonVersionRead = Schemas["LessonVersionView"];

// ---- requests --------------------------------------------------------------------------------

export type CreateCourse = Schemas["CreateCourseRequest"];
/** PATCH /courses/{id}/outline: the whole outline as it should be (no id: a new lesson or module). */
export type OutlineEdit = Schemas["EditOutlineRequest"];
export type ProgressUpdate = Schemas["ProgressUpdate"];
/** A quiz's answers to grade; `reveal` asks for the solution before passing. */
export type QuizAnswers = Schemas["QuizAnswers"];
/** One invalid field, as the API names it in a 400 `invalid_request`. */
export type FieldProblem = Schemas["ErrorDetail"];

// ---- progress: kept beside the content, keyed by stable lesson ids --------------------------

export type CourseProgress = Schemas["CourseProgress"];
/** A learner's progress in one lesson. */
export type LessonProgress = Schemas["LessonProgress"];
export type QuizResult = Schemas["QuizResult"];
/** A question's right option and why: in a result once passed or revealed. */
export type QuizSolution = Schemas["QuizSolution"];
export type ProgressOverview = Schemas["ProgressOverview"];

// ---- questions about a lesson ----------------------------------------------------------------

export type QuestionStatus = Schemas["QuestionStatus"];
export type QuestionView = Schemas["QuestionView"];
export type QuestionThread = Schemas["QuestionThread"];

// ---- share links (issue 22): the owner's link, and what anyone with it sees ---------------------

/** A course's live share link (`token` and `url` null: made under an earlier server key). */
export type ShareLink = Schemas["ShareView"];
/** A shared course as anyone with its link sees it: an allow-list, nothing of its owner. */
export type SharedCourse = Schemas["SharedCourseView"];
export type SharedModule = Schemas["SharedModuleView"];
export type SharedLessonSummary = Schemas["SharedLessonSummary"];
export type SharedLesson = Schemas["SharedLessonView"];
/** A shared quiz checked: graded, nothing recorded. */
export type QuizGrade = Schemas["QuizGrade"];

// ---- search in a course (issue 26) -----------------------------------------------------------

/** The written lessons that mention a word, best first; a snippet's `matches` are offsets in
 * Unicode code points (not UTF-16 units), to highlight without HTML. */
export type CourseSearchResults = Schemas["CourseSearchResults"];
export type SearchResult = Schemas["SearchResult"];
export type SearchMatch = Schemas["SearchMatch"];

// ---- limits, as the API checks them (the generated types carry no lengths or patterns) ------

export const PROMPT_MAX_CHARS = 2000;
export const INSTRUCTION_MAX_CHARS = 500;
export const QUESTION_MAX_CHARS = 1000;
export const SEARCH_MAX_CHARS = 100;
/** As the API checks it: letters of any script, spaces, hyphens, parentheses; 2-40 characters. */
export const LANGUAGE_PATTERN = "\\p{L}[\\p{L} \\(\\)\\-]{0,38}[\\p{L}\\)]";

/** Flashcards under spaced review (issue 23): a card as the due list and a review answer it. */
export type ReviewCard = Schemas["CardView"];
export type DueCards = Schemas["DueCards"];
export type ReviewRating = Schemas["ReviewRequest"]["rating"];
export type CourseMastery = Schemas["CourseMastery"];

// ---- a learner's sources (issue 24): files a course is grounded in, and citations of them -----

export type Source = Schemas["SourceView"];
export type SourceStatus = Schemas["SourceStatus"];
export type SourceList = Schemas["SourceList"];
/** POST /sources answers the source with its presigned POST form (`upload`: url and fields). */
export type SourceUpload = Schemas["SourceUpload"];
export type UploadForm = Schemas["UploadForm"];
export type CreateSource = Schemas["CreateSourceRequest"];
export type SourceKind = CreateSource["contentType"];
/** A passage a markdown block or an answer quotes, with its page (set by the server). */
export type Citation = Schemas["SourceCitation"];
/** SourceMaxBytes, the template's default (20 MiB); the API answers 413 above it. */
export const SOURCE_MAX_BYTES = 20 * 1024 * 1024;
/** MAX_COURSE_SOURCES in flowgen/library.py: the schema's maxItems for a course's sources. */
export const COURSE_MAX_SOURCES = 5;
