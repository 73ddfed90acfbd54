// No import cycle in the web source: `node scripts/cycles.mjs [DIR...]` (default src) reads every
// .ts/.tsx file with TypeScript's own parser, follows its relative imports (static, type-only,
// re-exports, dynamic import() and import("...") types: a lazy import closes a circle as much as
// a static one does) and exits 1 naming each cycle it finds. Packages (bare specifiers) are
// not followed.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const SOURCE = /\.(ts|tsx|mts|cts)$/;
const CANDIDATES = ["", ".ts", ".tsx", ".d.ts", ".mts", "/index.ts", "/index.tsx"];

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

/** Every module specifier the file names, in any form of import or re-export. */
export function specifiersOf(path, text = readFileSync(path, "utf8")) {
  const kind = path.endsWith("x") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, kind);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.push(argument.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push(expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function resolveImport(from, specifier, known) {
  if (!specifier.startsWith(".")) return null; // a package
  const base = resolve(dirname(from), specifier);
  for (const suffix of CANDIDATES) {
    const candidate = base + suffix;
    if (known.has(candidate)) return candidate;
  }
  return null; // an asset (.css) or a file outside the folders read
}

/** The import graph of the folders: file -> the files it imports. */
export function importGraph(dirs) {
  const files = dirs.flatMap((dir) => sourceFiles(resolve(dir)));
  const known = new Set(files);
  return new Map(files.map((file) => [file, [...new Set(specifiersOf(file).map((s) => resolveImport(file, s, known)).filter(Boolean))]]));
}

/** Each cycle once, as the files around it (the first one again at the end), by Tarjan's
 * strongly connected components: a component of two or more files, or a file importing itself. */
export function findCycles(graph) {
  let index = 0;
  const order = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const connect = (file) => {
    order.set(file, index);
    low.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!order.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file), order.get(next)));
      }
    }
    if (low.get(file) === order.get(file)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) components.push(component);
    }
  };
  for (const file of [...graph.keys()].sort()) if (!order.has(file)) connect(file);
  return components.map((component) => pathThrough(graph, new Set(component)));
}

/** One closed path through a strongly connected component, from its first file (by name). */
function pathThrough(graph, members) {
  const start = [...members].sort()[0];
  // breadth first from start's imports back to start, inside the component: the shortest circle
  const previous = new Map();
  const queue = [start];
  while (queue.length) {
    const file = queue.shift();
    for (const next of graph.get(file) ?? []) {
      if (!members.has(next) || previous.has(next)) continue;
      previous.set(next, file);
      if (next === start) queue.length = 0;
      else queue.push(next);
    }
  }
  const between = [];
  for (let file = previous.get(start); file !== start; file = previous.get(file)) between.unshift(file);
  return [start, ...between, start];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ["src"];
  for (const dir of dirs) {
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      console.error(`cycles: no folder ${dir}`);
      process.exit(2);
    }
  }
  const graph = importGraph(dirs);
  const cycles = findCycles(graph);
  const shown = (file) => relative(process.cwd(), file);
  if (cycles.length === 0) {
    console.log(`cycles: none among ${graph.size} files in ${dirs.join(", ")}`);
  } else {
    for (const cycle of cycles) console.error(`import cycle: ${cycle.map(shown).join(" -> ")}`);
    console.error(`cycles: ${cycles.length} import cycle${cycles.length === 1 ? "" : "s"}; make the dependency go one way (move what both need into a module of its own)`);
    process.exit(1);
  }
}
