// A `diagram` block (issue 26): Mermaid source the model wrote, drawn as SVG in the browser.
//
// Mermaid is large (hundreds of kB), so it is never in the first load: it is imported when a
// diagram comes near the screen (IntersectionObserver), once, and kept for the next ones. Lesson
// text is model output, so Mermaid runs with securityLevel "strict" (labels are text, no click
// handlers, and the SVG it returns is sanitized by its DOMPurify); the source cannot override that
// (a %%{init}%% directive cannot change securityLevel, and the API refuses a source that starts
// with one). The theme follows the app's (light or dark, theme.tsx). The caption is the visible
// figcaption and the SVG's accessible name; when the source does not parse or draw, the caption
// stays and the source is shown as text in a <pre>, with a short note. The picture has a fixed
// height whatever its state (waiting, drawn and scaled to fit, or the source scrolling inside it),
// so a diagram drawn late moves nothing below it: a resumed reading position stays put.
import { useEffect, useId, useRef, useState, type RefObject } from "react";
import { useT } from "../i18n";
import { systemTheme, type Theme } from "../theme";

type Mermaid = (typeof import("mermaid"))["default"];
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

/** True once the element has come within a screen of the viewport (at once without an observer). */
function useNearScreen(ref: RefObject<Element | null>): boolean {
  const [near, setNear] = useState(typeof IntersectionObserver === "undefined");
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

export function Diagram({ source, caption }: { source: string; caption: string }) {
  const { t } = useT();
  const figure = useRef<HTMLElement>(null);
  const picture = useRef<HTMLDivElement>(null);
  const captionId = `diagram-caption-${useId().replace(/[^\w-]/g, "")}`;
  const near = useNearScreen(figure);
  const theme = usePageTheme();
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
        });
        await mermaid.parse(source); // throws on a source that does not parse
        const { svg } = await mermaid.render(`flowgen-diagram-${++renders}`, source);
        if (live) setDrawn({ state: "drawn", svg });
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
        // mermaid's own output in strict mode: sanitized by it (DOMPurify), labels as text
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
