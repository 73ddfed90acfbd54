// A learner's sources in the web app (issue 24): the upload field of a new course, the citation
// marks under a cited block, a course's list of its sources.
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import axe from "axe-core";
import { AskPanel } from "./components/AskPanel";
import { Blocks } from "./components/Blocks";
import { SourceNames } from "./components/Citations";
import { CourseSources } from "./components/CourseSources";
import { SourcesField, type SourcesChoice } from "./components/SourcesField";
import { fetched, refetch, renderScreen } from "./test-harness";
import type { Block, Source } from "./api/types";

const SOURCE = "a".repeat(32);
const OTHER = "b".repeat(32);

function source(over: Partial<Source>): Source {
  return { id: SOURCE, filename: "handbook.pdf", contentType: "application/pdf", size: 2048, status: "READY", createdAt: "", pages: 50, chunkCount: 50, ...over };
}

/** An XMLHttpRequest whose upload the test finishes: progress, then S3's answer. */
class HeldXhr {
  static last: HeldXhr | null = null;
  status = 0;
  responseText = "";
  url = "";
  body: FormData | null = null;
  upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open(_method: string, url: string) {
    this.url = url;
  }
  send(body: FormData) {
    this.body = body;
    HeldXhr.last = this;
  }
  aborted = false;
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  progress(loaded: number) {
    this.upload.onprogress?.({ loaded });
  }
  answer(status: number, text = "") {
    this.status = status;
    this.responseText = text;
    this.onload?.();
  }
}

describe("adding sources to a new course", () => {
  beforeEach(() => {
    HeldXhr.last = null;
    vi.stubGlobal("XMLHttpRequest", HeldXhr);
  });
  afterEach(() => vi.unstubAllGlobals());

  function field(ingest: Source[], library: Source[] = []) {
    let polls = 0;
    const api = {
      listSources: vi.fn(async () => fetched({ items: library, storedBytes: 0, quotaBytes: 1 })),
      createSource: vi.fn(async (body: { filename: string; contentType: string; size: number }) =>
        fetched({ ...source({ ...body, status: "UPLOADING", pages: null, chunkCount: null }), upload: { url: "http://s3.test/b", fields: { key: "sources/k", policy: "p" }, expiresAt: "" } }, 201),
      ),
      getSource: vi.fn(async () => fetched(ingest[Math.min(polls++, ingest.length - 1)])),
    };
    const choices: SourcesChoice[] = [];
    const view = renderScreen(<SourcesField onChange={(c) => choices.push(c)} />, { path: "/", at: "/", api });
    return { ...view, api, choices };
  }

  it("uploads a picked file with its progress, then shows it being read until READY, and offers its id", async () => {
    const user = userEvent.setup();
    const { api, client, choices, container } = field([source({ status: "INGESTING", pages: null }), source({ status: "READY" })]);
    await user.upload(screen.getByLabelText("Add files"), new File(["%PDF-1.4 ".repeat(200)], "handbook.pdf", { type: "application/pdf" }));
    await waitFor(() => expect(HeldXhr.last).not.toBeNull());
    expect(api.createSource).toHaveBeenCalledWith({ filename: "handbook.pdf", contentType: "application/pdf", size: 1800 });
    expect(HeldXhr.last!.url).toBe("http://s3.test/b");
    expect([...HeldXhr.last!.body!.keys()]).toEqual(["key", "policy", "file"]);
    act(() => HeldXhr.last!.progress(900));
    const bar = screen.getByRole("progressbar", { name: "Uploading handbook.pdf" });
    expect(bar).toHaveAttribute("value", "900");
    expect(bar).toHaveAttribute("max", "1800");
    const row = screen.getByRole("listitem");
    expect(within(row).getByRole("status")).toHaveTextContent("Uploading: 50 %");
    expect(choices.at(-1)).toEqual({ ready: [], busy: 1 });
    expect((await axe.run(container, { rules: { "color-contrast": { enabled: false } } })).violations).toEqual([]);
    act(() => HeldXhr.last!.answer(204));
    await waitFor(() => expect(within(row).getByRole("status")).toHaveTextContent("Uploaded; being read"));
    expect(screen.queryByRole("progressbar")).toBeNull();
    await refetch(client, "sources");
    await waitFor(() => expect(within(row).getByRole("status")).toHaveTextContent("Ready: 50 pages"));
    expect(choices.at(-1)).toEqual({ ready: [SOURCE], busy: 0 });
  });

  it("shows the reason a file failed to be read, and offers nothing", async () => {
    const user = userEvent.setup();
    const reason = "no text could be extracted: is it a scanned PDF?";
    const { choices } = field([source({ status: "FAILED", error: { code: "no_text", reason } })]);
    await user.upload(screen.getByLabelText("Add files"), new File(["x"], "scan.pdf", { type: "application/pdf" }));
    await waitFor(() => expect(HeldXhr.last).not.toBeNull());
    act(() => HeldXhr.last!.answer(204));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent(`Cannot be used: ${reason}`));
    expect(choices.at(-1)).toEqual({ ready: [], busy: 0 });
  });

  it("says what S3 refused, and Remove gives the focus back to the file picker", async () => {
    const user = userEvent.setup();
    field([]);
    await user.upload(screen.getByLabelText("Add files"), new File(["# notes"], "notes.md"));
    await waitFor(() => expect(HeldXhr.last).not.toBeNull());
    act(() => HeldXhr.last!.answer(403, "<Error><Code>AccessDenied</Code><Message>Policy expired.</Message></Error>"));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("the storage refused the upload (Policy expired.)"));
    await user.click(screen.getByRole("button", { name: "Remove notes.md from this course" }));
    expect(screen.queryByRole("listitem")).toBeNull();
    expect(screen.getByLabelText("Add files")).toHaveFocus();
  });

  it("stops the upload of a file removed while it is sent", async () => {
    const user = userEvent.setup();
    field([]);
    await user.upload(screen.getByLabelText("Add files"), new File(["# notes"], "notes.md"));
    await waitFor(() => expect(HeldXhr.last).not.toBeNull());
    const sending = HeldXhr.last!;
    await user.click(screen.getByRole("button", { name: "Remove notes.md from this course" }));
    expect(sending.aborted).toBe(true);
    expect(screen.queryByRole("listitem")).toBeNull();
  });

  it("refuses a file it cannot use without sending it", async () => {
    const user = userEvent.setup({ applyAccept: false });
    const { api } = field([]);
    await user.upload(screen.getByLabelText("Add files"), new File(["x"], "photo.jpg", { type: "image/jpeg" }));
    expect(screen.getByRole("status")).toHaveTextContent("Not added: only PDF, Markdown (.md) and plain text (.txt) files can be used");
    expect(api.createSource).not.toHaveBeenCalled();
  });

  it("takes a dropped file like a picked one", async () => {
    const { api } = field([]);
    const file = new File(["# notes"], "notes.md");
    const zone = screen.getByLabelText("Add files").closest(".drop-zone")!;
    const { fireEvent } = await import("@testing-library/react");
    fireEvent.drop(zone, { dataTransfer: { files: [file], types: ["Files"] } });
    await waitFor(() => expect(api.createSource).toHaveBeenCalledWith({ filename: "notes.md", contentType: "text/markdown", size: 7 }));
  });

  it("lets the learner pick one of their READY sources, without an upload", async () => {
    const user = userEvent.setup();
    const { choices, api } = field([], [source({}), source({ id: OTHER, filename: "scan.pdf", status: "FAILED" })]);
    await user.click(await screen.findByRole("button", { name: "Use handbook.pdf" }));
    expect(screen.queryByRole("button", { name: "Use scan.pdf" })).toBeNull(); // only READY ones
    expect(within(screen.getByRole("list", { name: "Files for this course" })).getByRole("status")).toHaveTextContent("Ready: 50 pages");
    expect(choices.at(-1)).toEqual({ ready: [SOURCE], busy: 0 });
    expect(api.createSource).not.toHaveBeenCalled();
  });
});

describe("citations under a lesson's blocks", () => {
  const blocks: Block[] = [
    { type: "markdown", markdown: "Uncited words." },
    {
      type: "markdown",
      markdown: "The handbook says to wash hands.",
      citations: [
        { sourceId: SOURCE, chunkId: "c1", page: 4, quote: "wash your hands before every shift" },
        { sourceId: SOURCE, chunkId: "c2", page: 9, quote: "gloves are changed hourly" },
      ],
    },
    { type: "markdown", markdown: "More.", citations: [{ sourceId: OTHER, chunkId: "c3", page: null, quote: "a quote from a deleted file" }] },
  ];

  function lesson() {
    return render(
      <SourceNames.Provider value={new Map([[SOURCE, "handbook.pdf"]])}>
        <article>
          <h1>Lesson</h1>
          <Blocks blocks={blocks} />
        </article>
      </SourceNames.Provider>,
    );
  }

  it("numbers them through the lesson, after the block they cite, and none under an uncited block", () => {
    const { container } = lesson();
    const marks = screen.getAllByRole("button", { name: /^Citation/ });
    expect(marks.map((m) => m.textContent)).toEqual(["[1]", "[2]", "[3]"]);
    expect(marks.map((m) => m.getAttribute("aria-label"))).toEqual([
      "Citation 1: handbook.pdf, page 4",
      "Citation 2: handbook.pdf, page 9",
      "Citation 3: a source of this course",
    ]);
    expect(container.querySelectorAll(".citations")).toHaveLength(2);
    // inside its block: the lesson's blocks stay one `.block` each (the reading position counts them)
    expect(container.querySelectorAll("article > .block")).toHaveLength(3);
    expect(container.querySelectorAll("article > .block")[1].querySelector(".citations")).not.toBeNull();
  });

  it("opens the quoted passage with its page and file by keyboard; Escape closes it and the focus stays on its mark", async () => {
    const user = userEvent.setup();
    const { container } = lesson();
    const second = screen.getByRole("button", { name: "Citation 2: handbook.pdf, page 9" });
    second.focus();
    await user.keyboard("{Enter}");
    expect(second).toHaveAttribute("aria-expanded", "true");
    const panel = document.getElementById(second.getAttribute("aria-controls")!)!;
    expect(panel).toHaveTextContent("gloves are changed hourly");
    expect(panel).toHaveTextContent("handbook.pdf, page 9");
    expect(screen.queryByText("wash your hands before every shift")).toBeNull(); // one passage at a time
    expect((await axe.run(container, { rules: { "color-contrast": { enabled: false } } })).violations).toEqual([]);
    await user.keyboard("{Escape}");
    expect(screen.queryByText("gloves are changed hourly")).toBeNull();
    expect(second).toHaveAttribute("aria-expanded", "false");
    expect(second).toHaveFocus();
  });

  it("Close shuts the passage and gives the focus back to its mark", async () => {
    const user = userEvent.setup();
    lesson();
    const first = screen.getByRole("button", { name: "Citation 1: handbook.pdf, page 4" });
    await user.click(first);
    await user.click(screen.getByRole("button", { name: "Close the quote" }));
    expect(screen.queryByText("wash your hands before every shift")).toBeNull();
    expect(first).toHaveFocus();
  });
});

describe("citations in an answer", () => {
  it("shows an answer's citations as marks that open the quoted passage", async () => {
    const user = userEvent.setup();
    const answered = {
      id: "q1", courseId: "c", lessonId: "m01-l01", question: "How often?", status: "ANSWERED" as const, partial: null, error: null,
      answer: 'Hourly: "gloves are changed hourly" [1]', askedAt: "2026-01-01T00:00:00Z", answeredAt: "2026-01-01T00:00:01Z",
      citations: [{ sourceId: SOURCE, chunkId: "c2", page: 9, quote: "gloves are changed hourly" }],
    };
    const api = { listQuestions: vi.fn(async () => fetched({ items: [answered] })) };
    renderScreen(
      <SourceNames.Provider value={new Map([[SOURCE, "handbook.pdf"]])}>
        <AskPanel courseId="c" lessonId="m01-l01" />
      </SourceNames.Provider>,
      { path: "/", at: "/", api },
    );
    await user.click(await screen.findByRole("button", { name: "Citation 1: handbook.pdf, page 9" }));
    expect(document.querySelector(".answer .cite-panel")).toHaveTextContent("gloves are changed hourly");
    expect(document.querySelector(".answer .cite-panel")).toHaveTextContent("handbook.pdf, page 9");
  });
});

describe("a course's sources", () => {
  it("lists each with its file name, pages and status, and says when one was deleted", async () => {
    const api = {
      listSources: vi.fn(async () =>
        fetched({ items: [source({}), source({ id: OTHER, filename: "guide.md", contentType: "text/markdown", pages: null, chunkCount: 7 })], storedBytes: 0, quotaBytes: 1 }),
      ),
    };
    const gone = "c".repeat(32);
    const { container } = renderScreen(<CourseSources sourceIds={[SOURCE, OTHER, gone]} />, { path: "/", at: "/", api });
    const region = await screen.findByRole("region", { name: "Sources" });
    await waitFor(() => expect(within(region).getAllByRole("listitem")).toHaveLength(3));
    const items = within(region).getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("handbook.pdf · 50 pages · ready");
    expect(items[1]).toHaveTextContent("guide.md · 7 passages · ready");
    expect(items[2]).toHaveTextContent("A file deleted from your library since");
    expect((await axe.run(container, { rules: { "color-contrast": { enabled: false } } })).violations).toEqual([]);
  });

  it("shows nothing, and asks for nothing, for a course without sources", () => {
    const api = { listSources: vi.fn() };
    const { container } = renderScreen(<CourseSources sourceIds={[]} />, { path: "/", at: "/", api });
    expect(container).toBeEmptyDOMElement();
    expect(api.listSources).not.toHaveBeenCalled();
  });
});
