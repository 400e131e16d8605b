/** Small pieces shared by the home-lab and agent-ledger pages: the paged answer, badges, commands, durations. */
import type { ComponentChildren } from 'preact';
import './lab.css';

export interface PageEnvelope<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export function Badge(props: { kind: string; children: ComponentChildren; title?: string }) {
  return <span class={`badge lab-${props.kind}`} title={props.title}>{props.children}</span>;
}

/** LOW / MEDIUM / HIGH. */
export function RiskBadge({ risk }: { risk: string }) {
  return <Badge kind={`risk-${risk.toLowerCase()}`}>{risk}</Badge>;
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
