/**
 * The dashboard's pages. Adding one: a component in src/pages/<name>.tsx taking
 * PageProps, and a line here (its path pattern, title and, for the sidebar, a nav label).
 */
import type { ComponentType } from 'preact';
import type { User } from '../api.ts';
import type { TimeView } from '../time.ts';
import { OverviewPage } from './overview.tsx';
import { NodesPage } from './nodes.tsx';
import { NodePage } from './node.tsx';
import { ComparePage } from './compare.tsx';
import { AlertsPage } from './alerts.tsx';
import { DeliveryPage } from './mail/delivery.tsx';
import { DestinationPage, DestinationsPage } from './mail/destinations.tsx';
import { TracePage } from './mail/trace.tsx';
import { IpPage, IpsPage } from './mail/ips.tsx';
import { DomainPage, DomainsPage } from './mail/domains.tsx';
import { RuleEditPage, RulesPage } from './ops/rules.tsx';
import { SilencesPage } from './ops/silences.tsx';
import { ChannelsPage } from './ops/channels.tsx';
import { ProbePage, ProbesPage } from './ops/probes.tsx';
import { DevicePage, DevicesPage } from './lab/devices.tsx';
import { ConfigChangesPage, DeviceConfigsPage } from './lab/configs.tsx';
import { RunPage, RunsPage } from './agents/runs.tsx';
import { ApprovalsPage, AuditPage, UsagePage } from './agents/ledger.tsx';

export interface PageProps {
  user: User;
  time: TimeView;
  /** `:name` parts of the path, decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface PageDef {
  /** '/nodes/:id' */
  path: string;
  title: string;
  /** Shown in the sidebar under this label. */
  nav?: string;
  component: ComponentType<PageProps>;
}

export const PAGES: PageDef[] = [
  { path: '/', title: 'Overview', nav: 'Overview', component: OverviewPage },
  { path: '/nodes', title: 'Nodes', nav: 'Nodes', component: NodesPage },
  { path: '/nodes/compare', title: 'Compare nodes', component: ComparePage },
  { path: '/nodes/:id', title: 'Node', component: NodePage },
  { path: '/alerts', title: 'Alerts', nav: 'Alerts', component: AlertsPage },
  { path: '/mail', title: 'Mail delivery', nav: 'Mail', component: DeliveryPage },
  { path: '/mail/destinations', title: 'Destinations', component: DestinationsPage },
  { path: '/mail/destinations/:domain', title: 'Destination', component: DestinationPage },
  { path: '/mail/trace', title: 'Message trace', component: TracePage },
  { path: '/mail/trace/:messageId', title: 'Message trace', component: TracePage },
  { path: '/mail/ips', title: 'Sending IPs', component: IpsPage },
  { path: '/mail/ips/:ip', title: 'Sending IP', component: IpPage },
  { path: '/mail/domains', title: 'Sending domains', component: DomainsPage },
  { path: '/mail/domains/:domain', title: 'Sending domain', component: DomainPage },
  { path: '/alerts/rules', title: 'Alert rules', component: RulesPage },
  { path: '/alerts/rules/new', title: 'New alert rule', component: RuleEditPage },
  { path: '/alerts/rules/:id', title: 'Alert rule', component: RuleEditPage },
  { path: '/alerts/silences', title: 'Silences and maintenance', component: SilencesPage },
  { path: '/alerts/channels', title: 'Notification channels', component: ChannelsPage },
  { path: '/probes', title: 'Probes', nav: 'Probes', component: ProbesPage },
  { path: '/probes/:id', title: 'Probe', component: ProbePage },
  { path: '/lab', title: 'Home lab', nav: 'Home lab', component: DevicesPage },
  { path: '/lab/configs', title: 'Configuration changes', component: ConfigChangesPage },
  { path: '/lab/devices/:id', title: 'Device', component: DevicePage },
  { path: '/lab/devices/:id/configs', title: 'Device configuration', component: DeviceConfigsPage },
  { path: '/agents', title: 'Agent runs', nav: 'Agents', component: RunsPage },
  { path: '/agents/runs/:id', title: 'Agent run', component: RunPage },
  { path: '/agents/approvals', title: 'Approvals', component: ApprovalsPage },
  { path: '/agents/usage', title: 'Agent cost and tools', component: UsagePage },
  { path: '/agents/audit', title: 'Audit log', component: AuditPage },
];

/** The page of a path and its parameters, or null. */
export function match(path: string): { page: PageDef; params: Record<string, string> } | null {
  const parts = path.replace(/\/+$/, '').split('/').slice(1);
  for (const page of PAGES) {
    const pattern = page.path === '/' ? [] : page.path.split('/').slice(1);
    if (pattern.length !== (parts.length === 1 && parts[0] === '' ? 0 : parts.length)) continue;
    const params: Record<string, string> = {};
    let ok = true;
    pattern.forEach((seg, i) => {
      const got = parts[i]!;
      if (seg.startsWith(':')) {
        try {
          params[seg.slice(1)] = decodeURIComponent(got);
        } catch {
          ok = false;
        }
      } else if (seg !== got) ok = false;
    });
    if (ok) return { page, params };
  }
  return null;
}
