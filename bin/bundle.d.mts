// Types of bin/bundle.mjs (plain JavaScript: it runs before any TypeScript loader).
export function bundleIsFresh(root: string, entry: string, bundle: string, inputsFile: string): boolean;
export function ensureBundle(o: { root: string; entry: string; name?: string }): Promise<{ path: string; built: boolean }>;
