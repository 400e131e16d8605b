/**
 * How `npm start` runs Opsdeck: the environment assignments that lead package.json's start
 * script (`NAME=value`, e.g. MALLOC_ARENA_MAX) and its Node flags (the `--…` options), so
 * the bench's server process and the footprint run measure the same memory settings a
 * user gets — written once, in package.json.
 */
import { readFileSync } from 'node:fs';

/** The start script's leading environment assignments (glibc's malloc arenas) and its Node flags (heap limits). */
export function startCommand(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[i]!); i++) {
    const [name, ...value] = words[i]!.split('=');
    env[name!] = value.join('=');
  }
  if (words[i] !== 'node') throw new Error(`the start script does not run node: ${pkg.scripts.start}`);
  const flags: string[] = [];
  for (const w of words.slice(i + 1)) {
    if (!w.startsWith('--')) break;
    flags.push(w);
  }
  return { env, flags };
}
