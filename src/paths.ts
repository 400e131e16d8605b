/**
 * Where Opsdeck's own files are. This module sits one folder below the root
 * (the folder of package.json) both when it runs from `src/` through tsx and
 * when it is part of the bundle `npm start` builds in `dist/`, so every path
 * to a file Opsdeck reads at run time (migrations, the dashboard's sources,
 * package.json) is derived from here and not from the importing module.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder that holds package.json, with a trailing separator. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A path below the root. */
export function rootPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}
