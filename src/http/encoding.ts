import { isAscii } from 'node:buffer';

// Text encodings at the HTTP edge: content-coding negotiation and a request body's characters.

/**
 * Content-coding negotiation (RFC 9110 §12.5.3): whether a request's Accept-Encoding takes a
 * coding, by name or through `*`, and not refused with q=0. Used by every answer Opsdeck
 * compresses (the dashboard's precompressed assets, the streamed metric answers).
 */
export function acceptsEncoding(header: string | string[] | undefined, coding: 'br' | 'gzip'): boolean {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return false;
  return value.split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name !== coding && name !== '*') return false;
    const q = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * A request body's text, exactly as UTF-8 decoding gives it. A body of ASCII bytes only (every
 * event batch in practice; a metric batch is read from its bytes by its route's reader, ADR
 * 0034, and decoded only when that reader leaves it to the parser) is decoded as Latin-1, which
 * maps those bytes to the same characters. Over ~1 MB Node makes that an external string, one copy outside V8's heap; the
 * UTF-8 decoder's string went to fresh pages of V8's large-object space instead (~13 ms of a
 * 2.3 MB, 5,000-row batch in the bench's profile, against ~1 ms now; docs/performance.md). Any
 * other body goes through the UTF-8 decoder, invalid sequences becoming U+FFFD as before.
 */
export function bodyText(body: Buffer): string {
  return isAscii(body) ? body.toString('latin1') : body.toString('utf8');
}
