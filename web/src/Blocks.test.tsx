import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Blocks, youTubeId } from "./components/Blocks";
import type { Block } from "./types";

const quiz: Block = {
  type: "quiz",
  questions: [
    { question: "Who owns a moved value?", options: ["The source", "The destination", "Both"], answer_index: 1, explanation: "A move transfers ownership." },
  ],
};

describe("quiz", () => {
  it("marks a wrong answer wrong and names the right one", async () => {
    render(<Blocks blocks={[quiz]} />);
    const check = screen.getByRole("button", { name: "Check answer" });
    expect(check).toBeDisabled();
    await userEvent.click(screen.getByLabelText("The source"));
    await userEvent.click(check);
    expect(screen.getByRole("status")).toHaveTextContent("Not quite: the answer is “The destination”. A move transfers ownership.");
  });

  it("marks the right answer correct", async () => {
    render(<Blocks blocks={[quiz]} />);
    await userEvent.click(screen.getByLabelText("The destination"));
    await userEvent.click(screen.getByRole("button", { name: "Check answer" }));
    expect(screen.getByRole("status")).toHaveTextContent("Correct.");
  });
});

describe("block renderers", () => {
  it("renders every block type", () => {
    const blocks: Block[] = [
      { type: "markdown", markdown: "## Borrowing\n\nA **reference** borrows." },
      { type: "code", language: "rust", code: "let s = String::new();", caption: "A new string" },
      { type: "key_points", points: ["One owner", "Many readers or one writer"] },
      quiz,
      { type: "video", title: "Ownership, visually", url: "https://www.youtube.com/watch?v=abc123" },
    ];
    const { container } = render(<Blocks blocks={blocks} />);
    expect(screen.getByRole("heading", { name: "Borrowing" })).toBeInTheDocument();
    expect(screen.getByText("reference").tagName).toBe("STRONG");
    expect(container.querySelector("code.hljs")).toHaveTextContent("let s = String::new();");
    expect(container.querySelector(".hljs-keyword")).toHaveTextContent("let"); // highlighted
    expect(screen.getByText("A new string")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Key points" })).toHaveTextContent("Many readers or one writer");
    expect(screen.getByTitle("Ownership, visually")).toHaveAttribute("src", "https://www.youtube-nocookie.com/embed/abc123");
  });

  it("never renders raw HTML from model output", () => {
    const { container } = render(
      <Blocks blocks={[{ type: "markdown", markdown: 'Hi <img src=x onerror="alert(1)"><script>alert(2)</script> [x](javascript:alert(3))' }]} />,
    );
    expect(container.querySelector("img, script")).toBeNull();
    expect(container.querySelector("a")?.getAttribute("href") ?? "").not.toContain("javascript:");
  });

  it("embeds only https YouTube links", () => {
    expect(youTubeId("https://www.youtube.com/watch?v=abc")).toBe("abc");
    expect(youTubeId("https://youtu.be/xyz")).toBe("xyz");
    expect(youTubeId("http://www.youtube.com/watch?v=abc")).toBeNull();
    expect(youTubeId("https://evil.example/watch?v=abc")).toBeNull();
  });
});

describe("error notices", () => {
  it("shows a 503 as a retrying state and a 4xx in the API's words", async () => {
    const { ApiError } = await import("./api");
    const { ErrorNotice } = await import("./components/Status");
    const { rerender } = render(<ErrorNotice error={new ApiError(503, "mongo_unavailable", "mongo is unavailable", 5)} />);
    expect(screen.getByRole("status")).toHaveTextContent("FlowGen is briefly unavailable; retrying in 5s");
    rerender(<ErrorNotice error={new ApiError(400, "invalid_request", "prompt: String should have at least 3 characters")} />);
    expect(screen.getByRole("alert")).toHaveTextContent("prompt: String should have at least 3 characters");
  });
});
