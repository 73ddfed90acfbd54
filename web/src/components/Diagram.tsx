// A `diagram` block (issue 26): Mermaid source the model wrote, drawn as SVG in the browser.
//
// Mermaid is large (hundreds of kB), so it is never in the first load: it is imported when a
// diagram comes near the screen (IntersectionObserver), once, and kept for the next ones. Lesson
// text is model output, so Mermaid runs with securityLevel "strict" (no click handlers, its SVG
// sanitized by its DOMPurify) and htmlLabels off (labels are SVG text: strict mode alone keeps an
// <img src> in an HTML label, which the browser would fetch unasked); the source cannot override
// that (a %%{init}%% directive cannot change securityLevel, and the API refuses a source that
// starts with one). Its SVG is then made inert before it enters the page (`inertSvg`): nothing in
// it can load, link or run, whatever a later Mermaid lets through. The theme follows the app's (light or dark, theme.tsx). The caption is the visible
// figcaption and the SVG's accessible name; when the source does not parse or draw, the caption
// stays and the source is shown as text in a <pre>, with a short note. The picture has a fixed
// height whatever its state (waiting, drawn and scaled to fit, or the source scrolling inside it),
// so a diagram drawn late moves nothing below it: a resumed reading position stays put.
import { useEffect, useId, useRef, useState, type RefObject } from "react";
import { useT } from "../i18n";
import { systemTheme, type Theme } from "../theme";

type Mermaid = (typeof import("mermaid"))["default"];

const ACTIVE = "script, img, image, iframe, object, embed, foreignObject, audio, video, animate, set";
const EXTERNAL_URL = /url\(\s*(?!['"]?#)[^)]*\)/gi; // url(#marker) stays: arrows point at their markers

/** An SVG string with nothing that loads, links or runs: parsed in an inert <template> (no fetch,
 * no script), its active elements removed, links unwrapped to their text, event handlers,
 * addresses and outside url()s dropped, @import removed from its styles. */
export function inertSvg(svg: string): string {
  const template = document.createElement("template");
  template.innerHTML = svg;
  const root = template.content;
  root.querySelectorAll(ACTIVE).forEach((element) => element.remove());
  root.querySelectorAll("a").forEach((link) => link.replaceWith(...link.childNodes));
  for (const element of root.querySelectorAll("*")) {
    for (const { name, value } of [...element.attributes]) {
      const address = /^(href|xlink:href|src|action|formaction)$/i.test(name) && !value.startsWith("#");
      if (/^on/i.test(name) || address || value.search(EXTERNAL_URL) >= 0) element.removeAttribute(name);
    }
  }
  root.querySelectorAll("style").forEach((style) => {
    style.textContent = (style.textContent ?? "").replace(EXTERNAL_URL, "none").replace(/@import[^;]*;?/gi, "");
  });
  return template.innerHTML;
}
let loading: Promise<Mermaid> | null = null;

/** Mermaid, imported once on first use (its own chunks, never the first load). */
export function loadMermaid(): Promise<Mermaid> {
  loading ??= import("mermaid").then((module) => module.default);
  loading.catch(() => {
    loading = null; // a failed download is tried again by the next diagram
  });
  return loading;
}

/** The theme in force on the page: the learner's pick on <html data-theme>, else the system's. */
function pageTheme(): Theme {
  const picked = document.documentElement.dataset.theme;
  return picked === "dark" || picked === "light" ? picked : systemTheme();
}

function usePageTheme(): Theme {
  const [theme, setTheme] = useState<Theme>(pageTheme);
  useEffect(() => {
    const update = () => setTheme(pageTheme());
    const observer = new MutationObserver(update);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    const query = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
    query?.addEventListener?.("change", update);
    return () => {
      observer.disconnect();
      query?.removeEventListener?.("change", update);
    };
  }, []);
  return theme;
}

/** True once the element has come within a screen of the viewport (at once without an observer,
 * or when `eager`). */
function useNearScreen(ref: RefObject<Element | null>, eager = false): boolean {
  const [near, setNear] = useState(eager || typeof IntersectionObserver === "undefined");
  useEffect(() => {
    const element = ref.current;
    if (near || !element) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setNear(true);
      },
      { rootMargin: "100% 0px" },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref, near]);
  return near;
}

const BOX = { height: "20rem" } as const; // the picture's height in every state: nothing below moves

type Drawn = { state: "waiting" } | { state: "drawn"; svg: string } | { state: "failed" };
let renders = 0;

/** `printed` (the print view): drawn at once, not when near the screen, as every diagram is
 * printed; and in the light theme, as paper is white whatever the screen's theme. */
export function Diagram({ source, caption, printed = false }: { source: string; caption: string; printed?: boolean }) {
  const { t } = useT();
  const figure = useRef<HTMLElement>(null);
  const picture = useRef<HTMLDivElement>(null);
  const captionId = `diagram-caption-${useId().replace(/[^\w-]/g, "")}`;
  const near = useNearScreen(figure, printed);
  const screenTheme = usePageTheme();
  const theme = printed ? "light" : screenTheme;
  const [drawn, setDrawn] = useState<Drawn>({ state: "waiting" });

  useEffect(() => {
    if (!near) return;
    let live = true;
    void (async () => {
      try {
        const mermaid = await loadMermaid();
        mermaid.initialize({
          startOnLoad: false,
          securityLevel: "strict",
          theme: theme === "dark" ? "dark" : "default",
          suppressErrorRendering: true, // no "syntax error" picture: the text fallback says it
          htmlLabels: false,
          flowchart: { htmlLabels: false },
        });
        await mermaid.parse(source); // throws on a source that does not parse
        const { svg } = await mermaid.render(`flowgen-diagram-${++renders}`, source);
        if (live) setDrawn({ state: "drawn", svg: inertSvg(svg) });
      } catch {
        if (live) setDrawn({ state: "failed" });
      }
    })();
    return () => {
      live = false;
    };
  }, [near, source, theme]);

  // the SVG is one image named by the caption (its own labels are not read one by one), scaled
  // to fit the picture's box
  useEffect(() => {
    const svg = picture.current?.querySelector("svg");
    if (!svg) return;
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-labelledby", captionId);
    svg.removeAttribute("aria-describedby");
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "100%");
    svg.style.maxWidth = "100%";
  }, [drawn, captionId]);

  return (
    <figure ref={figure} className={`block diagram ${drawn.state}`}>
      {drawn.state === "drawn" ? (
        // mermaid's output in strict mode, sanitized by it (DOMPurify), then made inert (inertSvg)
        <div ref={picture} className="diagram-picture" style={BOX} dangerouslySetInnerHTML={{ __html: drawn.svg }} />
      ) : drawn.state === "failed" ? (
        <div className="diagram-picture" style={{ ...BOX, overflow: "auto" }}>
          <p className="diagram-note">{t("blocks.diagramFailed")}</p>
          <pre tabIndex={0} aria-label={caption}>
            <code>{source}</code>
          </pre>
        </div>
      ) : (
        <div className="diagram-picture" style={BOX} aria-busy="true">
          <p className="diagram-note">{t("blocks.diagramLoading")}</p>
        </div>
      )}
      <figcaption id={captionId}>{caption}</figcaption>
    </figure>
  );
}
