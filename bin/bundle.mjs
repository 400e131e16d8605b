// The bundle `bin/opsdeck.mjs` runs: src/bin/opsdeck.ts and every module of src/ it imports,
// in one ES module built by esbuild (packages stay in node_modules and are imported from
// there). Plain JavaScript, so that it runs before any TypeScript loader.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * True when `bundle` exists and none of the sources listed in `inputsFile` (paths relative
 * to `root`) changed or vanished since it was written.
 * @param {string} root @param {string} entry @param {string} bundle @param {string} inputsFile
 */
export function bundleIsFresh(root, entry, bundle, inputsFile) {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
    if (!Array.isArray(inputs) || !inputs.includes(entry)) return false;
    return inputs.every((f) => typeof f === 'string' && statSync(join(root, f)).mtimeMs <= built);
  } catch {
    return false;
  }
}

/**
 * Makes sure `<root>/dist/<name>.mjs` is a current bundle of `<root>/<entry>` and returns its
 * path. It is rebuilt when missing or older than one of its sources (~0.5 s for Opsdeck).
 * Several processes may start at once: each writes files of its own and renames them into
 * place, so a reader sees a whole bundle, never a half-written one. Throws when the bundle
 * cannot be built or written (the caller falls back to running the sources).
 * @param {{ root: string, entry: string, name?: string }} o
 * @returns {Promise<{ path: string, built: boolean }>}
 */
export async function ensureBundle({ root, entry, name = 'opsdeck' }) {
  const dist = join(root, 'dist');
  const bundle = join(dist, `${name}.mjs`);
  const inputsFile = join(dist, `${name}.inputs.json`);
  if (bundleIsFresh(root, entry, bundle, inputsFile)) return { path: bundle, built: false };
  const { build, stop } = await import('esbuild');
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmpBundle = `${bundle}.${tag}.tmp`;
  const tmpInputs = `${inputsFile}.${tag}.tmp`;
  try {
    mkdirSync(dist, { recursive: true });
    const result = await build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile: tmpBundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
      banner: { js: `// Built from ${entry} by bin/bundle.mjs (esbuild); rebuilt when a source changes. Do not edit.` },
    });
    const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
    writeFileSync(tmpInputs, JSON.stringify(inputs));
    // The list first: a bundle is only ever paired with a list at least as new as itself.
    renameSync(tmpInputs, inputsFile);
    renameSync(tmpBundle, bundle);
    return { path: bundle, built: true };
  } finally {
    rmSync(tmpBundle, { force: true });
    rmSync(tmpInputs, { force: true });
    // esbuild's service is a child process; it has nothing more to do.
    await stop();
  }
}
