// Counts type assertions (`x as T`, not `as const`) and non-null assertions (`x!`) in src/,
// read from the TypeScript syntax tree. Usage: node scripts/count-casts.js [dir] [--files]
import console from 'node:console';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import ts from 'typescript';

const root = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'src';
const perFile = process.argv.includes('--files');
let casts = 0;
let nonNull = 0;
const byFile = new Map();

function walk(dir) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) count(p);
  }
}

function count(path) {
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    const isConst =
      ts.isAsExpression(node) && ts.isTypeReferenceNode(node.type) && node.type.typeName.getText() === 'const';
    if (ts.isAsExpression(node) && !isConst) {
      casts++;
      byFile.set(path, (byFile.get(path) ?? 0) + 1);
    }
    if (ts.isNonNullExpression(node)) nonNull++;
    ts.forEachChild(node, visit);
  };
  visit(file);
}

walk(root);
console.log(`as-casts: ${casts}  non-null: ${nonNull}`);
if (perFile) for (const [f, n] of [...byFile].sort((a, b) => b[1] - a[1])) console.log(`${n} ${f}`);
