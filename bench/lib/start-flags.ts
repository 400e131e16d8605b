/**
 * The Node flags `npm start` runs Opsdeck with (the `--…` options of package.json's
 * start script), so the bench's server process and footprint run measure the same
 * heap settings a user gets — written once, in package.json.
 */
import { readFileSync } from 'node:fs';

export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`the start script does not run node: ${pkg.scripts.start}`);
  const flags: string[] = [];
  for (const w of words.slice(1)) {
    if (!w.startsWith('--')) break;
    flags.push(w);
  }
  return flags;
}
