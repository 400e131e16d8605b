/**
 * The bundle `opsdeck` runs (bin/bundle.mjs): built from the TypeScript sources, rebuilt
 * when one of them changes or vanishes, reused otherwise, whole when several processes
 * start at once. Tried on a small tree of its own in a temporary folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { bundleIsFresh, ensureBundle } from '../../bin/bundle.mjs';

const run = promisify(execFile);
const BUNDLER = pathToFileURL(join(import.meta.dirname, '../../bin/bundle.mjs')).href;

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'opsdeck-bundle-'));
  mkdirSync(join(root, 'src', 'bin'), { recursive: true });
  writeFileSync(join(root, 'src', 'lib.ts'), 'export function double(n: number): number {\n  return n * 2;\n}\n');
  writeFileSync(join(root, 'src', 'bin', 'main.ts'), "import { double } from '../lib.ts';\nexport const answer: number = double(21);\n");
  return root;
}

let imports = 0;
async function answerOf(path: string): Promise<number> {
  // A query string per import: the module cache would otherwise hand back the first bundle.
  return ((await import(`${pathToFileURL(path).href}?n=${++imports}`)) as { answer: number }).answer;
}

/** Moves a file's modification time `seconds` into the future (a later edit than the bundle). */
function touchLater(path: string, seconds: number): void {
  const t = new Date(Date.now() + seconds * 1000);
  utimesSync(path, t, t);
}

test('built on first use, reused while no source changed, rebuilt when one did', { timeout: 60_000 }, async () => {
  const root = tree();
  try {
    const first = await ensureBundle({ root, entry: 'src/bin/main.ts', name: 'main' });
    assert.equal(first.built, true);
    assert.equal(first.path, join(root, 'dist', 'main.mjs'));
    assert.equal(await answerOf(first.path), 42);
    const builtAt = statSync(first.path).mtimeMs;

    const again = await ensureBundle({ root, entry: 'src/bin/main.ts', name: 'main' });
    assert.equal(again.built, false);
    assert.equal(statSync(again.path).mtimeMs, builtAt);

    // An imported module (not the entry) changes.
    writeFileSync(join(root, 'src', 'lib.ts'), 'export function double(n: number): number {\n  return n * 2 + 1;\n}\n');
    touchLater(join(root, 'src', 'lib.ts'), 5);
    const changed = await ensureBundle({ root, entry: 'src/bin/main.ts', name: 'main' });
    assert.equal(changed.built, true);
    assert.equal(await answerOf(changed.path), 43);
    // No temporary file is left behind.
    assert.deepEqual(readdirSync(join(root, 'dist')).sort(), ['main.inputs.json', 'main.mjs']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a source that vanished makes the bundle stale; a build that fails throws', { timeout: 60_000 }, async () => {
  const root = tree();
  try {
    const first = await ensureBundle({ root, entry: 'src/bin/main.ts', name: 'main' });
    const inputs = join(root, 'dist', 'main.inputs.json');
    assert.equal(bundleIsFresh(root, 'src/bin/main.ts', first.path, inputs), true);
    rmSync(join(root, 'src', 'lib.ts'));
    assert.equal(bundleIsFresh(root, 'src/bin/main.ts', first.path, inputs), false);
    // The entry still imports the vanished module: esbuild cannot build, and says so.
    await assert.rejects(ensureBundle({ root, entry: 'src/bin/main.ts', name: 'main' }), /lib\.ts/);
    writeFileSync(join(root, 'src', 'bin', 'main.ts'), 'export const answer: number = 7;\n');
    touchLater(join(root, 'src', 'bin', 'main.ts'), 5);
    const rebuilt = await ensureBundle({ root, entry: 'src/bin/main.ts', name: 'main' });
    assert.equal(rebuilt.built, true);
    assert.equal(await answerOf(rebuilt.path), 7);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('where dist cannot be written, ensureBundle throws (the shim then runs the sources)', { timeout: 60_000 }, async () => {
  const root = tree();
  try {
    writeFileSync(join(root, 'dist'), 'a file where the folder would be');
    await assert.rejects(ensureBundle({ root, entry: 'src/bin/main.ts', name: 'main' }), (err: NodeJS.ErrnoException) => ['EEXIST', 'ENOTDIR'].includes(err.code ?? ''));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('six processes starting at once each get a whole bundle', { timeout: 120_000 }, async () => {
  const root = tree();
  try {
    const script = `const { ensureBundle } = await import(${JSON.stringify(BUNDLER)});
const b = await ensureBundle({ root: ${JSON.stringify(root)}, entry: 'src/bin/main.ts', name: 'main' });
const m = await import(b.path);
console.log(JSON.stringify({ built: b.built, answer: m.answer }));`;
    const outs = await Promise.all(Array.from({ length: 6 }, () => run(process.execPath, ['--input-type=module', '-e', script])));
    const results = outs.map((o) => JSON.parse(o.stdout) as { built: boolean; answer: number });
    for (const r of results) assert.equal(r.answer, 42);
    assert.ok(results.some((r) => r.built));
    assert.deepEqual(readdirSync(join(root, 'dist')).sort(), ['main.inputs.json', 'main.mjs']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
