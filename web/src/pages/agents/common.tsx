/** The agent ledger's pages share a section menu (the audit log only for admins) and a windowed list. */
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { can, type User } from '../../api.ts';
import { Link } from '../../link.tsx';
import '../lab/lab.css';

export type AgentSection = 'runs' | 'approvals' | 'usage' | 'audit';

export function AgentsNav({ user, current }: { user: User; current: AgentSection }) {
  const items: [AgentSection, string, string][] = [
    ['runs', '/agents', 'Runs'],
    ['approvals', '/agents/approvals', 'Approvals'],
    ['usage', '/agents/usage', 'Cost and tools'],
  ];
  // The audit trail is admin's (GET /api/v1/audit): others get no link to it.
  if (can(user, 'admin')) items.push(['audit', '/agents/audit', 'Audit log']);
  return (
    <nav class="subnav" aria-label="Agent ledger">
      {items.map(([key, href, label]) => <Link href={href} class={key === current ? 'active' : ''}>{label}</Link>)}
    </nav>
  );
}

/**
 * A list of fixed-height rows of which only those in view (and a few around) are in
 * the DOM, so a run with thousands of events scrolls smoothly. `follow` keeps the view
 * at the end while it is there (a live log).
 */
export function Windowed<T>(props: { items: T[]; rowHeight: number; height: number; follow?: boolean; onRow?: (index: number) => void; row: (item: T, index: number) => ComponentChildren }) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const atEnd = useRef(true);
  /** Where following last put the view: a scroll event reporting that spot (even after more rows came) is not the user leaving the end. */
  const pinned = useRef<number | null>(null);
  const total = props.items.length * props.rowHeight;
  useLayoutEffect(() => {
    const el = box.current;
    if (el && props.follow && atEnd.current) {
      el.scrollTop = total;
      pinned.current = el.scrollTop;
      setTop(el.scrollTop);
    }
  }, [props.items.length, props.follow, total]);
  const first = Math.max(0, Math.floor(top / props.rowHeight) - 5);
  const last = Math.min(props.items.length, Math.ceil((top + props.height) / props.rowHeight) + 5);
  return (
    <div
      ref={box}
      class="window"
      style={{ height: `${Math.min(props.height, Math.max(total, props.rowHeight)) + 2}px` }}
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        const bottom = el.scrollTop + el.clientHeight >= el.scrollHeight - props.rowHeight;
        atEnd.current = bottom || (pinned.current !== null && el.scrollTop >= pinned.current - 1);
        if (!atEnd.current) pinned.current = null;
        setTop(el.scrollTop);
      }}
    >
      <div style={{ height: `${total}px` }} />
      {props.items.slice(first, last).map((item, i) => (
        <div class="row" data-index={String(first + i)} onClick={() => props.onRow?.(first + i)} style={{ top: `${(first + i) * props.rowHeight}px`, height: `${props.rowHeight}px` }}>
          {props.row(item, first + i)}
        </div>
      ))}
    </div>
  );
}
