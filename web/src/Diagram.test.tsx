// @vitest-environment jsdom
// jsdom here, happy-dom elsewhere (vite.config.ts): what is sanitised out of Mermaid's SVG depends
// on how the document parses it, and jsdom's parser is the one that follows the HTML standard.
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Blocks } from "./components/Blocks";
import { PrintMarkdown, printParts } from "./components/PrintMarkdown";
import type { Block } from "./api/types";

// Mermaid itself needs a real layout engine (jsdom has none): the module is replaced by one that
// records how it was called and answers as Mermaid does (an SVG string, or a parse error).
const mermaid = vi.hoisted(() => ({
  initialize: vi.fn(),
  parse: vi.fn(async (_source: string) => ({ diagramType: "flowchart-v2" })),
  render: vi.fn(async (id: string, _source: string) => ({
    svg: `<svg id="${id}" aria-roledescription="flowchart-v2" aria-describedby="chart-desc"><g><text>Claim the lesson</text></g></svg>`,
    diagramType: "flowchart-v2",
  })),
}));
vi.mock("mermaid", () => ({ default: mermaid }));

const SOURCE = 'flowchart TD\n  A["Claim the lesson"] --> B["Write it"]\n';
const CAPTION = "A worker claims a lesson, then writes it.";
const diagram: Block = { type: "diagram", source: SOURCE, caption: CAPTION };

// an IntersectionObserver the test drives: nothing is on screen until `show()`
let observed: ((entries: { isIntersecting: boolean }[]) => void)[] = [];
function show() {
  act(() => observed.forEach((callback) => callback([{ isIntersecting: true }])));
}

beforeEach(() => {
  observed = [];
  vi.stubGlobal(
    "IntersectionObserver",
    class {
      constructor(callback: (entries: { isIntersecting: boolean }[]) => void) {
        observed.push(callback);
      }
      observe() {}
      disconnect() {}
    },
  );
  mermaid.initialize.mockClear();
  mermaid.parse.mockClear();
  mermaid.render.mockClear();
});

afterEach(() => {
  cleanup(); // before the theme goes: a mounted diagram would follow it
  vi.unstubAllGlobals();
  delete document.documentElement.dataset.theme;
});

describe("diagram blocks", () => {
  it("load Mermaid only once on screen, then draw the SVG named by its visible caption", async () => {
    const { container } = render(<Blocks blocks={[{ type: "markdown", markdown: "Before." }, diagram]} />);
    expect(screen.getByText(CAPTION).tagName).toBe("FIGCAPTION");
    expect(screen.getByText("Drawing the diagram…")).toBeInTheDocument();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(mermaid.render).not.toHaveBeenCalled(); // not on screen: Mermaid is not even loaded
    const box = () => (container.querySelector(".diagram-picture") as HTMLElement).style.height;
    const waiting = box();
    expect(waiting).toBe("20rem"); // the same in every state: a diagram drawn late moves nothing

    show();
    const picture = await screen.findByRole("img", { name: CAPTION });
    expect(picture.tagName.toLowerCase()).toBe("svg");
    expect(container.querySelector("figure.diagram")).toContainElement(picture);
    expect(picture).not.toHaveAttribute("aria-describedby");
    expect(box()).toBe(waiting);
    expect(picture).toHaveAttribute("height", "100%"); // scaled to fit the box
    expect(mermaid.parse).toHaveBeenCalledWith(SOURCE);
    expect(mermaid.render).toHaveBeenCalledWith(expect.stringMatching(/^flowgen-diagram-\d+$/), SOURCE);
    // model output: Mermaid's strict security level (labels as text, no click handlers, its SVG sanitized)
    expect(mermaid.initialize).toHaveBeenLastCalledWith(
      expect.objectContaining({ securityLevel: "strict", startOnLoad: false, theme: "default" }),
    );
    expect(screen.queryByText("Drawing the diagram…")).toBeNull();
  });

  it("put nothing in the page that loads, links or runs, whatever the SVG Mermaid returns holds", async () => {
    const hostile =
      '<svg id="d"><style>#d .node{fill:url(https://evil.example/a.png)} @import url(https://evil.example/b.css); #d .edge{marker-end:url(#arrow)}</style>' +
      '<g onclick="window.pwned=1"><a href="javascript:window.pwned=2"><text>Claim the lesson</text></a>' +
      '<image href="https://evil.example/c.png"/><foreignObject><img src="https://evil.example/d.png"></foreignObject>' +
      '<script>window.pwned=3</script><animate attributeName="href" values="javascript:alert(4)"/>' +
      '<rect style="fill:url(https://evil.example/e.png)"/><path marker-end="url(#arrow)"/></g></svg>';
    mermaid.render.mockResolvedValueOnce({ svg: hostile, diagramType: "flowchart-v2" });
    const { container } = render(<Blocks blocks={[diagram]} />);
    show();
    const picture = await screen.findByRole("img", { name: CAPTION });
    expect(picture).toHaveTextContent("Claim the lesson"); // the label stays, as text
    expect(picture.querySelector("script, img, image, foreignObject, a, animate, [onclick]")).toBeNull();
    expect(picture.querySelector("rect")).not.toHaveAttribute("style");
    expect(container.innerHTML).not.toMatch(/evil\.example|javascript:|@import/);
    expect(container.querySelector("path")).toHaveAttribute("marker-end", "url(#arrow)"); // its own markers stay
    expect(mermaid.initialize).toHaveBeenLastCalledWith(expect.objectContaining({ htmlLabels: false }));
  });

  it("follow the app's theme, and draw again when it changes", async () => {
    document.documentElement.dataset.theme = "dark";
    render(<Blocks blocks={[diagram]} />);
    show();
    await screen.findByRole("img", { name: CAPTION });
    expect(mermaid.initialize).toHaveBeenLastCalledWith(expect.objectContaining({ theme: "dark", securityLevel: "strict" }));
    await act(async () => {
      document.documentElement.dataset.theme = "light";
      await new Promise((resolve) => setTimeout(resolve, 0)); // the MutationObserver's turn
    });
    await waitFor(() => expect(mermaid.initialize).toHaveBeenLastCalledWith(expect.objectContaining({ theme: "default" })));
    expect(mermaid.render).toHaveBeenCalledTimes(2);
  });

  it("show the caption and the source as text when the source does not parse", async () => {
    mermaid.parse.mockRejectedValueOnce(new Error("Parse error on line 2"));
    const source = 'flowchart TD\n  A[<img src=x onerror="alert(1)">] -->\n';
    const { container } = render(<Blocks blocks={[{ type: "diagram", source, caption: CAPTION }]} />);
    show();
    expect(await screen.findByText("This diagram could not be drawn. Its source:")).toBeInTheDocument();
    expect(container.querySelector("figure.diagram pre")?.textContent).toBe(source);
    expect((container.querySelector(".diagram-picture") as HTMLElement).style.height).toBe("20rem");
    expect(screen.getByText(CAPTION).tagName).toBe("FIGCAPTION");
    expect(container.querySelector("svg, img")).toBeNull(); // the source is text, never markup
    expect(mermaid.render).not.toHaveBeenCalled();
  });

  it("fall back to the text when drawing fails after parsing", async () => {
    mermaid.render.mockRejectedValueOnce(new Error("cannot lay out"));
    const { container } = render(<Blocks blocks={[diagram]} />);
    show();
    expect(await screen.findByText("This diagram could not be drawn. Its source:")).toBeInTheDocument();
    expect(container.querySelector("figure.diagram pre")).toHaveTextContent("Claim the lesson");
  });
});

// flowgen/export.py writes a diagram so: a Mermaid fence (longer when the source holds backticks),
// a blank line, then its caption line with `<` escaped
const EXPORTED = [
  "## Lesson 1.1: Claims",
  "",
  "Before the diagram.",
  "",
  "````mermaid",
  'flowchart TD\n  A["Claim `it`"] --> B["Write it"]',
  "````",
  "",
  "*Diagram: A worker \\<claims> a lesson*",
  "",
  "```python",
  "print('code stays code')",
  "```",
  "",
  "After the diagram.",
].join("\n");

describe("the print view's diagrams", () => {
  it("are drawn at once from the course export, captioned, in the light theme, instead of printed as source", async () => {
    document.documentElement.dataset.theme = "dark"; // the screen's theme; paper is white
    const { container } = render(<PrintMarkdown markdown={EXPORTED} />);
    expect(screen.getByText("A worker <claims> a lesson").tagName).toBe("FIGCAPTION");
    await waitFor(() => expect(container.querySelector("figure svg")).not.toBeNull()); // never shown: eager
    expect(mermaid.render).toHaveBeenCalledWith(expect.any(String), 'flowchart TD\n  A["Claim `it`"] --> B["Write it"]');
    expect(container.textContent).not.toContain("flowchart TD");
    expect(mermaid.initialize).toHaveBeenCalledWith(expect.objectContaining({ theme: "default" }));
    expect(container.querySelector("pre code")?.textContent).toBe("print('code stays code')\n"); // other fences stay code
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("Lesson 1.1: Claims");
    expect(screen.getByText("Before the diagram.")).toBeInTheDocument();
    expect(screen.getByText("After the diagram.")).toBeInTheDocument();
  });

  it("split the export into text and diagrams in order, and leave a fence without its caption as text", () => {
    expect(printParts(EXPORTED).map((part) => ("source" in part ? "diagram" : "text"))).toEqual([
      "text",
      "diagram",
      "text",
    ]);
    const uncaptioned = "```mermaid\nflowchart TD\n  A --> B\n```\n\nNo caption line.";
    expect(printParts(uncaptioned)).toEqual([{ markdown: uncaptioned }]);
  });
});
