/** Small pieces shared by the home-lab and agent-ledger pages: paging, badges, field errors. */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../../api.ts';
import './lab.css';

export interface PageEnvelope<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

/** Older/newer buttons for a paged API answer (`page` lives in the URL query). */
export function Pager(props: { page: number; totalPages: number; onPage: (page: number) => void }) {
  if (props.totalPages <= 1) return null;
  return (
    <div class="pager">
      <button type="button" disabled={props.page <= 1} onClick={() => props.onPage(props.page - 1)}>‹ Previous</button>
      <span>page {props.page} of {props.totalPages}</span>
      <button type="button" disabled={props.page >= props.totalPages} onClick={() => props.onPage(props.page + 1)}>Next ›</button>
    </div>
  );
}

export function Badge(props: { kind: string; children: ComponentChildren; title?: string }) {
  return <span class={`badge lab-${props.kind}`} title={props.title}>{props.children}</span>;
}

/** LOW / MEDIUM / HIGH. */
export function RiskBadge({ risk }: { risk: string }) {
  return <Badge kind={`risk-${risk.toLowerCase()}`}>{risk}</Badge>;
}

/** A text message of any error (ApiError: code and detail). */
export function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
}

/** The messages of a problem's field errors whose path is `path` (e.g. `body.reason`). */
export function fieldErrors(err: unknown, path: string): string[] {
  return err instanceof ApiError ? err.errors.filter((e) => e.path === path).map((e) => e.message) : [];
}

/** A field's error text, under the field. */
export function FieldError({ messages }: { messages: (string | null | undefined)[] }) {
  const shown = messages.filter((m): m is string => !!m);
  if (shown.length === 0) return null;
  return <span class="field-error" role="alert">{shown.join('; ')}</span>;
}

/** A shell command or request to copy, as text. */
export function Command({ children }: { children: string }) {
  return <pre class="command">{children}</pre>;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 90) return `${s.toFixed(1)} s`;
  if (s < 5400) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
