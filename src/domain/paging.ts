/**
 * Paged lists: `{ items, total, page, pageSize, totalPages }` (the envelope of
 * homelab-unified-schema-and-api-contracts.md, camelCase). Services build pages
 * with pageResult; the route schemas of the envelope are in src/http/pagination.ts.
 */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export function pageResult<T>(items: T[], total: number, page: number, pageSize: number): Page<T> {
  return { items, total, page, pageSize, totalPages: Math.max(1, Math.ceil(total / pageSize)) };
}
