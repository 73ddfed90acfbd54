// @vitest-environment node
// The import cycle check (scripts/cycles.mjs): the web source has none, and a cycle fails it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { findCycles, importGraph } from "./cycles.mjs";

const web = fileURLToPath(new URL("..", import.meta.url));
const script = fileURLToPath(new URL("./cycles.mjs", import.meta.url));
let scratch = null;

/** A folder of source files, from { "a.ts": text }. */
function folder(files) {
  scratch = mkdtempSync(join(tmpdir(), "flowgen-cycles-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(scratch, name, ".."), { recursive: true });
    writeFileSync(join(scratch, name), text);
  }
  return scratch;
}

const names = (cycles) => cycles.map((cycle) => cycle.map((file) => file.slice(scratch.length + 1)));

afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
});

describe("import cycles", () => {
  it("finds none in the web source", () => {
    expect(findCycles(importGraph([join(web, "src")]))).toEqual([]);
  });

  it("follows every kind of import: static, type-only, re-exports and dynamic import()", () => {
    const dir = folder({
      "a.ts": 'import type { B } from "./b";\nexport type A = B;\n',
      "b.ts": 'export * from "./c";\nexport type B = 1;\n',
      "c.tsx": 'import { lazy } from "react";\nexport const D = lazy(() => import("./lib"));\n',
      "lib/index.ts": 'import "../a";\nimport "./styles.css";\n// import("./not-code") in a comment is not an import\n',
      "free.ts": 'import { A } from "./a";\nexport const f = (a: A) => a;\n',
    });
    expect(names(findCycles(importGraph([dir])))).toEqual([["a.ts", "b.ts", "c.tsx", "lib/index.ts", "a.ts"]]);
  });

  it("fails, naming the cycle, and passes once the dependency goes one way", () => {
    const dir = folder({
      "auth.tsx": 'import { lazy } from "react";\nexport const Other = lazy(() => import("./auth0"));\nexport const Context = 1;\n',
      "auth0.tsx": 'import { Context } from "./auth";\nexport default Context;\n',
    });
    const failed = spawnSync(process.execPath, [script, dir], { encoding: "utf8" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/import cycle: .*auth\.tsx -> .*auth0\.tsx -> .*auth\.tsx/);

    writeFileSync(join(dir, "session.ts"), "export const Context = 1;\n");
    writeFileSync(join(dir, "auth0.tsx"), 'import { Context } from "./session";\nexport default Context;\n');
    const passed = spawnSync(process.execPath, [script, dir], { encoding: "utf8" });
    expect(passed.status).toBe(0);
    expect(passed.stdout).toMatch(/cycles: none among 3 files/);
  });

  it("counts a file importing itself", () => {
    const dir = folder({ "self.ts": 'export * from "./self";\n' });
    expect(names(findCycles(importGraph([dir])))).toEqual([["self.ts", "self.ts"]]);
  });
});
