// The API's shapes (camelCase on the wire), as the HTTP API returns them.
export type CourseStatus = "PENDING" | "GENERATING" | "READY" | "FAILED" | "REFUSED";
export type LessonStatus = "PENDING" | "GENERATING" | "GENERATED" | "FAILED";
export type Priority = "high" | "low" | null;

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface CourseSummary {
  id: string;
  prompt: string;
  level: string | null;
  size: string | null;
  language?: string | null; // chosen at creation; absent or null: the topic's language
  version?: number; // of the outline, sent with an edit
  status: CourseStatus;
  title: string | null;
  description: string | null;
  objectives: string[];
  lessonCount: number;
  lessonsGenerated: number;
  usage: Usage;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface LessonSummary {
  id: string;
  title: string;
  summary: string;
  order: number;
  status: LessonStatus;
  priority: Priority;
  error: string | null;
}

export interface Module {
  id: string;
  title: string;
  lessons: LessonSummary[];
}

export interface CourseDetail extends CourseSummary {
  modules: Module[];
  /** While the outline is written (GENERATING): the modules finished so far. Never final. */
  partialOutline?: PartialOutline | null;
  /** Seconds to wait before polling again, while the outline is written. */
  retryAfter?: number | null;
}

/** The outline so far, as GET /courses/{id} serves it while the course is GENERATING. */
export interface PartialOutline {
  title: string | null;
  description: string | null;
  objectives: string[];
  modules: { title: string; lessons: { title: string; summary: string }[] }[];
  /** times the outline started again from nothing: modules shown before may have gone */
  restarts: number;
  writes?: number;
}

export interface CoursePage {
  items: CourseSummary[];
  nextCursor: string | null;
}

export type Block =
  | { type: "markdown"; markdown: string }
  | { type: "code"; language: string; code: string; caption: string }
  | { type: "key_points"; points: string[] }
  | { type: "quiz"; questions: QuizQuestion[] }
  | { type: "video"; title: string; url: string };

export interface QuizQuestion {
  question: string;
  options: string[];
  answer_index: number;
  explanation: string;
}

/** The finished blocks of a lesson still being written, and the markdown being written now.
 * Never final: `content` is (design invariant 9). */
export interface PartialContent {
  blocks: Block[];
  writing: string | null;
  writes: number;
  restarts: number;
}

/** How far the writing of a lesson has got, while it is not GENERATED. */
export interface WritingProgress {
  blocksWritten: number;
  /** about how many blocks it will have (from the course's lessons written before); null: no idea yet */
  blocksExpected: number | null;
  /** times the writing started again from nothing: blocks shown before may have gone */
  restarts: number;
}

export interface Lesson extends LessonSummary {
  courseId: string;
  moduleId: string;
  content: { blocks: Block[]; generator: string } | null;
  partial?: PartialContent | null;
  progress?: WritingProgress | null;
  requestedAt: string | null;
  generatedAt: string | null;
  previousLessonId: string | null;
  nextLessonId: string | null;
  retryAfter: number | null;
  /** the same wait, exactly (under a second while the first block is written) */
  retryAfterMs?: number | null;
  version?: number;
  instruction?: string | null;
  versions?: LessonVersion[];
}

export interface LessonVersion {
  number: number;
  generatedAt: string | null;
  instruction: string | null;
  current: boolean;
}

export const INSTRUCTION_MAX_CHARS = 500;

/** PATCH /courses/{id}/outline: the whole outline as it should be (no id: a new lesson or module). */
export interface OutlineEdit {
  version: number;
  modules: { id?: string; title: string; lessons: { id?: string; title: string; summary?: string }[] }[];
}

export const PROMPT_MAX_CHARS = 2000;
/** As the API checks it: letters of any script, spaces, hyphens, parentheses; 2-40 characters. */
export const LANGUAGE_PATTERN = "\\p{L}[\\p{L} \\(\\)\\-]{0,38}[\\p{L}\\)]";

// ---- progress: kept beside the content, keyed by stable lesson ids --------------------------

export interface QuizResult {
  score: number;
  total: number;
  passed: boolean;
  answers: (number | null)[];
  correct: boolean[];
  lessonVersion: string | null;
  takenAt: string;
}

export interface LessonProgress {
  lessonId: string;
  openedAt: string | null;
  completedAt: string | null;
  completedBy: "learner" | "quiz" | null;
  quiz: QuizResult | null;
  updatedAt: string | null;
}

export interface CourseProgress {
  courseId: string;
  lessonCount: number;
  completed: number;
  percent: number;
  finished: boolean;
  nextLessonId: string | null;
  lessons: LessonProgress[];
}

export interface ProgressOverview {
  courses: { courseId: string; completed: number; lastOpenedAt: string | null }[];
}

export interface ProgressUpdate {
  opened?: true;
  completed?: boolean;
  quiz?: { answers: (number | null)[] };
}

// ---- questions about a lesson ----------------------------------------------------------------

export type QuestionStatus = "QUEUED" | "ANSWERING" | "ANSWERED" | "FAILED";

export interface QuestionView {
  id: string;
  courseId: string;
  lessonId: string;
  question: string;
  status: QuestionStatus;
  /** markdown, when ANSWERED */
  answer: string | null;
  /** the answer so far, while ANSWERING (never final) */
  partial: string | null;
  error: string | null;
  askedAt: string;
  answeredAt: string | null;
  usage?: Usage | null;
}

export interface QuestionThread {
  items: QuestionView[];
  retryAfter?: number | null;
}

export const QUESTION_MAX_CHARS = 1000;
