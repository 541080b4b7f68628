#!/usr/bin/env node
// check.mjs FILE... - parse each file with the tree-sitter PowerShell grammar and report every ERROR or
// missing node with its line and column. Exits 1 when any file has one, 2 on usage or I/O errors.
// It checks syntax only: cmdlet names and parameters are not known to the grammar.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import v8 from 'node:v8';

// Baseline (Liftoff) WebAssembly code parses a few files at once; without this V8 spends seconds optimising the
// 1 MB grammar in the background before the process may exit.
v8.setFlagsFromString('--liftoff-only');
const { Parser, Language } = await import('web-tree-sitter');

const require = createRequire(import.meta.url);

async function loadParser() {
  await Parser.init();
  const wasm = require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
  const parser = new Parser();
  parser.setLanguage(await Language.load(wasm));
  return parser;
}

// problems walks the tree and returns one message per ERROR or missing node. A node without errors
// below it (hasError false) is skipped whole, so clean files cost one visit of the root.
function problems(tree) {
  const found = [];
  const cursor = tree.walk();
  const visit = () => {
    const node = cursor.currentNode;
    if (!node.hasError && !node.isMissing) return;
    const where = `${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
    if (node.isMissing) {
      found.push(`${where}: missing ${node.type}`);
    } else if (node.type === 'ERROR') {
      found.push(`${where}: syntax error near ${JSON.stringify(node.text.slice(0, 40))}`);
    }
    if (cursor.gotoFirstChild()) {
      do visit(); while (cursor.gotoNextSibling());
      cursor.gotoParent();
    }
  };
  visit();
  return found;
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: check.mjs FILE...');
    return 2;
  }
  const parser = await loadParser();
  let status = 0;
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      console.error(`${file}: ${err.message}`);
      status = 2;
      continue;
    }
    const tree = parser.parse(text);
    const found = problems(tree);
    tree.delete();
    for (const p of found) console.error(`${file}:${p}`);
    if (found.length > 0 && status === 0) status = 1;
  }
  return status;
}

process.exitCode = await main(process.argv.slice(2));
