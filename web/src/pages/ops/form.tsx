/**
 * Text pieces of the operations forms: `name=value` lines (labels, headers) and comma lists.
 * The fields, their errors and the sending are the shared ones of components/form.tsx.
 */
import './ops.css';

/** `a=b` lines (or comma-separated) → a record; null when a line is not `name=value`. */
export function parsePairs(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const raw of text.split(/[\n,]/)) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf('=');
    if (i <= 0) return null;
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function pairsText(r: Record<string, string> | undefined): string {
  return Object.entries(r ?? {}).map(([k, v]) => `${k}=${v}`).join('\n');
}

export function listOf(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
