/** Paging of a paged API answer: the page lives in the URL query (`page`), like the time range. */
import { setQuery } from '../router.ts';

/** The page of the URL query (1 when missing or not a number). */
export function pageOf(query: URLSearchParams): number {
  return Math.max(1, Number(query.get('page')) || 1);
}

/**
 * Previous / next buttons and "page N of M" (nothing on a single page). `newest` names the
 * buttons for lists whose first page is the newest (‹ Newer, Older ›). Without `onPage` the
 * URL's `page` changes.
 */
export function Pager(props: { page: number; totalPages: number | undefined; newest?: boolean; onPage?: (page: number) => void }) {
  const total = props.totalPages ?? 0;
  if (total <= 1) return null;
  const go = props.onPage ?? ((p: number) => setQuery({ page: String(p) }));
  return (
    <div class="pager">
      <button type="button" disabled={props.page <= 1} onClick={() => go(props.page - 1)}>{props.newest ? '‹ Newer' : '‹ Previous'}</button>
      <span>page {props.page} of {total}</span>
      <button type="button" disabled={props.page >= total} onClick={() => go(props.page + 1)}>{props.newest ? 'Older ›' : 'Next ›'}</button>
    </div>
  );
}
