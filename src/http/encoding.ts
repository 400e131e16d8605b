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
