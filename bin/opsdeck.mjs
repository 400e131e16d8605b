#!/usr/bin/env node
// Entry shim of the `opsdeck` command; `npm start` runs it with `serve`.
//
// It runs a bundle of the TypeScript sources (bin/bundle.mjs: built with esbuild into
// dist/opsdeck.mjs, rebuilt when a source changed), so no TypeScript loader stays in the
// process: tsx's loader runs on a thread of its own that holds about 20 MB for the
// process's life. Where dist/ cannot be written or esbuild fails, the sources run
// through tsx instead, with one line on stderr saying why.
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBundle } from './bundle.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
let bundle = null;
try {
  bundle = (await ensureBundle({ root, entry: 'src/bin/opsdeck.ts' })).path;
} catch (err) {
  const why = err instanceof Error ? `${'code' in err ? `${err.code}: ` : ''}${err.message}` : String(err);
  process.stderr.write(`opsdeck: could not bundle the sources into ${root}/dist (${why.split('\n')[0]}); running them through tsx\n`);
}
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/bin/opsdeck.ts');
}
