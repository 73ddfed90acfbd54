import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { FlowgenApi } from "./api/client";
import type { CourseDetail, CourseMastery, DueCards, ReviewCard } from "./api/types";
import { DueBanner, Mastery } from "./components/Mastery";
import { dueIn, Review } from "./pages/Review";
import { fetched, renderScreen } from "./test-harness";

function card(n: number): ReviewCard {
  return {
    id: `${n}`.padStart(24, "0"),
    courseId: "c".repeat(32),
    lessonId: "m01-l01",
    front: `Question ${n}?`,
    back: `Answer ${n}.`,
    state: "new",
    due: "2026-12-01T09:00:00Z",
    reps: 0,
    lastReviewedAt: null,
  };
}

function fakeApi(cards: ReviewCard[]) {
  const reviewed: [string, string, string][] = [];
  const api: Partial<FlowgenApi> = {
    dueCards: vi.fn(async () => fetched<DueCards>({ cards, due: cards.length })),
    reviewCard: vi.fn(async (cardId: string, rating: string, key: string) => {
      reviewed.push([cardId, rating, key]);
      const before = cards.find((c) => c.id === cardId)!;
      return fetched<ReviewCard>({ ...before, reps: 1, state: "learning", due: new Date(Date.now() + 10 * 60_000).toISOString() });
    }),
  };
  return { api, reviewed };
}

describe("the review screen", () => {
  it("shows one card at a time: Space flips, 1-4 rate, and what is left is said", async () => {
    const user = userEvent.setup();
    const { api, reviewed } = fakeApi([card(1), card(2)]);
    renderScreen(<Review />, { path: "/review", at: "/review", api });
    expect(await screen.findByRole("heading", { name: /Question 1\?/ }, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.getByText("2 cards left")).toBeInTheDocument();
    expect(screen.queryByText("Answer 1.")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Good/ })).not.toBeInTheDocument(); // no rating before the answer

    await user.keyboard(" ");
    expect(screen.getByText("Answer 1.")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Answer: Answer 1.");
    await user.keyboard("3");
    await waitFor(() => expect(reviewed).toEqual([[card(1).id, "good", `${card(1).id}-0`]]));
    expect(await screen.findByRole("heading", { name: /Question 2\?/ })).toHaveFocus();
    expect(screen.getByText("1 card left")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Rated good: next review in 10 minutes. 1 card left.");

    await user.click(screen.getByRole("button", { name: /Show answer/ }));
    await user.click(screen.getByRole("button", { name: /Easy/ }));
    expect(await screen.findByRole("heading", { name: "All done for now" })).toBeInTheDocument();
    expect(reviewed.map(([, rating]) => rating)).toEqual(["good", "easy"]);
    expect(screen.getByText("0 cards left")).toBeInTheDocument();
  });

  it("ignores rating keys before the answer is shown", async () => {
    const user = userEvent.setup();
    const { api, reviewed } = fakeApi([card(1)]);
    renderScreen(<Review />, { path: "/review", at: "/review", api });
    await screen.findByRole("heading", { name: /Question 1\?/ }, { timeout: 5000 });
    await user.keyboard("4");
    expect(reviewed).toEqual([]);
  });

  it("says when nothing is due", async () => {
    const { api } = fakeApi([]);
    renderScreen(<Review />, { path: "/review", at: "/review", api });
    expect(await screen.findByRole("heading", { name: "Nothing to review" }, { timeout: 5000 })).toBeInTheDocument();
  });

  it("says due times in words", () => {
    const now = Date.parse("2026-12-01T09:00:00Z");
    expect(dueIn("2026-12-01T09:10:00Z", now)).toBe("in 10 minutes");
    expect(dueIn("2026-12-04T09:00:00Z", now)).toBe("in 3 days");
    expect(dueIn("2026-12-01T08:00:00Z", now)).toBe("now");
  });
});

describe("flashcards in the course list and the course page", () => {
  it("My courses says how many cards are due and links to the review", async () => {
    const { api } = fakeApi([card(1), card(2), card(3)]);
    renderScreen(<DueBanner />, { path: "/", at: "/", api });
    expect(await screen.findByText(/3 cards due for review/, {}, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Review now" })).toHaveAttribute("href", "/review");
  });

  it("a course shows its mastery, the cards to review and the export", async () => {
    const course = { id: "c".repeat(32) } as CourseDetail;
    const mastery: CourseMastery = {
      cards: 6,
      learned: 2,
      due: 3,
      nextDueAt: "2026-12-01T09:00:00Z",
      lessons: [{ lessonId: "m01-l01", cards: 6, learned: 2, due: 3, nextDueAt: "2026-12-01T09:00:00Z" }],
    };
    renderScreen(<Mastery course={course} mastery={mastery} />, { path: "/", at: "/", api: {} });
    expect(screen.getByRole("region", { name: "Flashcards" })).toHaveTextContent("2 of 6 cards learned, 3 due now");
    expect(screen.getByRole("progressbar", { name: "Flashcards learned" })).toHaveAttribute("value", "2");
    expect(screen.getByRole("link", { name: "Review 3 cards" })).toHaveAttribute("href", `/review?course=${course.id}`);
    expect(screen.getByRole("button", { name: "Export cards for Anki (CSV)" })).toBeInTheDocument();
  });
});
