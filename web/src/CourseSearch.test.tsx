// Search in a course (issue 26): the box calls the API, results link into their lessons, the
// mention is a <mark> built from offsets (never HTML), and an empty answer says so.
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import axe from "axe-core";
import { ApiError, type FlowgenApi } from "./api/client";
import type { CourseSearchResults } from "./api/types";
import { CourseSearch, Highlighted } from "./components/CourseSearch";
import { fetched, renderScreen } from "./test-harness";

const COURSE = "c".repeat(32);

const FOUND: CourseSearchResults = {
  query: "borrow",
  results: [
    {
      lessonId: "m01-l02", lessonTitle: "Borrowing", moduleId: "m01", moduleTitle: "Basics",
      snippet: "…a <b>borrow</b> 🦀 lets you borrow", matches: [{ start: 6, end: 12 }, { start: 28, end: 34 }], matchCount: 3,
    },
    { lessonId: "m02-l01", lessonTitle: "Slices", moduleId: "m02", moduleTitle: "Views", snippet: "A borrow of part", matches: [{ start: 2, end: 8 }], matchCount: 1 },
  ],
};  // prettier-ignore

function searchScreen(searchCourse: FlowgenApi["searchCourse"]) {
  return renderScreen(<CourseSearch courseId={COURSE} />, { path: "/courses/:courseId", at: `/courses/${COURSE}`, api: { searchCourse } });
}

test("results link into their lessons with the mention marked from offsets, never as HTML", async () => {
  const searchCourse = vi.fn(async () => fetched(FOUND));
  const { container } = searchScreen(searchCourse);
  await userEvent.type(screen.getByRole("searchbox", { name: "Find a word in the lessons written so far" }), "  borrow ");
  await userEvent.click(screen.getByRole("button", { name: "Search" }));

  expect(searchCourse).toHaveBeenCalledWith(COURSE, "borrow");
  expect(await screen.findByRole("status")).toHaveTextContent("2 lessons mention “borrow”.");
  const items = within(screen.getByRole("list")).getAllByRole("listitem");
  expect(items).toHaveLength(2);
  expect(within(items[0]).getByRole("link", { name: "Borrowing" })).toHaveAttribute("href", `/courses/${COURSE}/lessons/m01-l02`);
  expect(items[0]).toHaveTextContent("in Basics");
  // the lesson's "<b>" is text; offsets count code points, so the crab does not shift the second mark
  expect([...items[0].querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["borrow", "borrow"]);
  expect(items[0].querySelector("b")).toBeNull();
  expect(items[0]).toHaveTextContent("…a <b>borrow</b> 🦀 lets you borrow");
  expect((await axe.run(container)).violations).toEqual([]);
});

test("an empty answer says that no lesson mentions the word", async () => {
  searchScreen(vi.fn(async () => fetched({ query: "ferris", results: [] })));
  await userEvent.type(screen.getByRole("searchbox"), "ferris{Enter}");
  expect(await screen.findByRole("status")).toHaveTextContent("No lesson mentions “ferris”.");
  expect(screen.queryByRole("list")).toBeNull();
});

test("a blank query is not sent, and the API's refusal is shown", async () => {
  const searchCourse = vi.fn(async () => {
    throw new ApiError(400, "invalid_request", "the request is not valid");
  });
  searchScreen(searchCourse);
  await userEvent.type(screen.getByRole("searchbox"), "   ");
  expect(screen.getByRole("button", { name: "Search" })).toBeDisabled();
  expect(searchCourse).not.toHaveBeenCalled();
  await userEvent.type(screen.getByRole("searchbox"), "x{Enter}");
  expect(await screen.findByText(/not valid/)).toBeInTheDocument();
});

test("marks out of range or overlapping are left as plain text", () => {
  const { container } = render(<Highlighted text="ab🦀cd" matches={[{ start: 2, end: 3 }, { start: 2, end: 4 }, { start: 4, end: 9 }]} />);
  expect([...container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["🦀"]);
  expect(container).toHaveTextContent("ab🦀cd");
});
