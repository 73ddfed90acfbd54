// Syntax highlighting, loaded on demand (a dynamic import from the lesson screen) with the
// languages lessons use most, not highlight.js's 190. Output is a tree of spans rendered as
// React elements: no innerHTML, so model output can never become markup.
import type { Element, ElementContent, Root, RootContent } from "hast";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import csharp from "highlight.js/lib/languages/csharp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import dockerfile from "highlight.js/lib/languages/dockerfile";
import go from "highlight.js/lib/languages/go";
import haskell from "highlight.js/lib/languages/haskell";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import kotlin from "highlight.js/lib/languages/kotlin";
import lua from "highlight.js/lib/languages/lua";
import makefile from "highlight.js/lib/languages/makefile";
import markdown from "highlight.js/lib/languages/markdown";
import php from "highlight.js/lib/languages/php";
import plaintext from "highlight.js/lib/languages/plaintext";
import python from "highlight.js/lib/languages/python";
import r from "highlight.js/lib/languages/r";
import ruby from "highlight.js/lib/languages/ruby";
import rust from "highlight.js/lib/languages/rust";
import scala from "highlight.js/lib/languages/scala";
import shell from "highlight.js/lib/languages/shell";
import sql from "highlight.js/lib/languages/sql";
import swift from "highlight.js/lib/languages/swift";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";
import { createLowlight } from "lowlight";
import { createElement, type ReactNode } from "react";

const lowlight = createLowlight({
  bash, c, cpp, csharp, css, diff, dockerfile, go, haskell, java, javascript, json, kotlin, lua, makefile,
  markdown, php, plaintext, python, r, ruby, rust, scala, shell, sql, swift, typescript, xml, yaml,
});

export const LANGUAGES = lowlight.listLanguages();

function known(language: string): string | null {
  const name = language.trim().toLowerCase();
  return name && lowlight.registered(name) ? name : null;
}

function toReact(nodes: (RootContent | ElementContent)[], prefix = ""): ReactNode[] {
  return nodes.map((node, i) => {
    if (node.type === "text") return node.value;
    if (node.type !== "element") return null;
    const className = (node.properties.className as string[] | undefined)?.join(" ");
    return createElement("span", { key: `${prefix}${i}`, className }, ...toReact(node.children, `${prefix}${i}.`));
  });
}

/** The code as highlighted React nodes, or null for a language not in the subset (shown plain). */
export function highlight(language: string, code: string): ReactNode[] | null {
  const name = known(language);
  return name ? toReact(lowlight.highlight(name, code).children) : null;
}

function textOf(node: ElementContent): string {
  if (node.type === "text") return node.value;
  return node.type === "element" ? node.children.map(textOf).join("") : "";
}

function highlightPre(pre: Element): void {
  const code = pre.children.find((child): child is Element => child.type === "element" && child.tagName === "code");
  const classes = (code?.properties.className as string[] | undefined) ?? [];
  const language = classes.find((name) => name.startsWith("language-"))?.slice("language-".length);
  const name = language ? known(language) : null;
  if (!code || !name) return;
  code.children = lowlight.highlight(name, code.children.map(textOf).join("")).children as ElementContent[];
  code.properties.className = [...classes, "hljs"];
}

function walk(node: Root | Element): void {
  for (const child of node.children) {
    if (child.type !== "element") continue;
    if (child.tagName === "pre") highlightPre(child);
    else walk(child);
  }
}

/** A rehype plugin for fenced code inside markdown blocks (the same subset, no detection). */
export function rehypeHighlightSubset() {
  return (tree: Root) => walk(tree);
}
