/** The links between the alerting pages: active alerts, rules, silences and maintenance, channels. */
import { Link } from '../../link.tsx';
import './ops.css';

const TABS = [
  { key: 'alerts', href: '/alerts', label: 'Alerts' },
  { key: 'rules', href: '/alerts/rules', label: 'Rules' },
  { key: 'silences', href: '/alerts/silences', label: 'Silences & maintenance' },
  { key: 'channels', href: '/alerts/channels', label: 'Channels' },
] as const;

export function AlertsTabs({ current }: { current: (typeof TABS)[number]['key'] }) {
  return (
    <nav class="subnav" aria-label="Alerting">
      {TABS.map((t) => <Link href={t.href} class={t.key === current ? 'active' : ''}>{t.label}</Link>)}
    </nav>
  );
}
