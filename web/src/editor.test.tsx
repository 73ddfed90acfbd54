import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { CourseDetail, LessonSummary } from "./api/types";
import { OutlineEditor } from "./pages/OutlineEditor";
import { renderScreen } from "./test-harness";

function row(id: string, title: string): LessonSummary {
  return { id, title, summary: "s", order: 0, status: "GENERATED", priority: null, error: null, attempts: 1 };
}

const course: CourseDetail = {
  id: "c".repeat(32), prompt: "Rust", level: null, size: null, status: "READY", title: "Rust", description: null, objectives: [],
  lessonCount: 2, lessonsGenerated: 2, usage: { promptTokens: 0, completionTokens: 0 }, error: null, attempts: 1, createdAt: "",
  updatedAt: "", version: 3, partialOutline: null, sourceIds: [],
  modules: [{ id: "m01", title: "Moves", lessons: [row("m01-l01", "What moves"), row("m01-l02", "Copy types")] }],
};

describe("the outline editor", () => {
  it("moves focus to the new lesson's title, so typing a title with spaces names it (and adds no rows)", async () => {
    const user = userEvent.setup();
    const editOutline = vi.fn(async () => ({ status: 200, data: course, retryAfter: null }));
    renderScreen(<OutlineEditor course={course} onDone={() => {}} />, { path: "/", at: "/", api: { editOutline } });
    const module = screen.getByRole("group", { name: "Module 1" });
    await user.click(within(module).getByRole("button", { name: "Add a lesson to module 1" }));
    const title = within(module).getByLabelText("Title of lesson 3 of module 1");
    expect(title).toHaveFocus();
    await user.keyboard("Borrowing in loops and closures");
    expect(title).toHaveValue("Borrowing in loops and closures"); // the placeholder title was selected: replaced
    expect(within(module).getAllByRole("textbox")).toHaveLength(4); // the module's title and three lessons: one added
    await user.click(screen.getByRole("button", { name: "Save the outline" }));
    expect(editOutline).toHaveBeenCalledWith(course.id, {
      version: 3,
      modules: [
        {
          id: "m01",
          title: "Moves",
          lessons: [{ id: "m01-l01", title: "What moves" }, { id: "m01-l02", title: "Copy types" }, { title: "Borrowing in loops and closures" }],
        },
      ],
    });
  });

  it("moves focus to a new module's title", async () => {
    const user = userEvent.setup();
    renderScreen(<OutlineEditor course={course} onDone={() => {}} />, { path: "/", at: "/", api: {} });
    await user.click(screen.getByRole("button", { name: "Add a module" }));
    expect(screen.getByLabelText("Title of module 2")).toHaveFocus();
  });
});
