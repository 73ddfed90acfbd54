// The print view's Markdown (the course export, flowgen/export.py) with its diagrams drawn.
//
// The export writes a diagram as a Mermaid fence followed by its caption line ("*Diagram: …*"),
// which a Markdown viewer that knows Mermaid draws; react-markdown does not, so the printed
// course showed each diagram's source. Here each such pair becomes a Diagram, drawn at once (a
// page about to be printed has no "near the screen") in the light theme (paper), and the text
// around it stays Markdown.
import Markdown from "react-markdown";
import { Diagram } from "./Diagram";

type Part = { markdown: string } | { source: string; caption: string };

// a fence of three or more backticks (more when the source holds some), then the caption line
const DIAGRAM = /^(`{3,})mermaid\n([\s\S]*?)\n\1\n\n\*Diagram: (.*)\*$/gm;
const ESCAPED = /\\([\\`*_{}[\]()#+\-.!<>|~])/g; // what the export escapes in a caption line

export function printParts(markdown: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of markdown.matchAll(DIAGRAM)) {
    parts.push({ markdown: markdown.slice(last, match.index) });
    parts.push({ source: match[2], caption: match[3].replace(ESCAPED, "$1") });
    last = match.index + match[0].length;
  }
  parts.push({ markdown: markdown.slice(last) });
  return parts.filter((part) => !("markdown" in part) || part.markdown.trim());
}

export function PrintMarkdown({ markdown }: { markdown: string }) {
  return (
    <>
      {printParts(markdown).map((part, i) =>
        "source" in part ? (
          <Diagram key={i} source={part.source} caption={part.caption} printed />
        ) : (
          <Markdown key={i} skipHtml>
            {part.markdown}
          </Markdown>
        ),
      )}
    </>
  );
}
