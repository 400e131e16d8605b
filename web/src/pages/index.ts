/**
 * The dashboard's pages. Adding one: a component in src/pages/<name>.tsx taking
 * PageProps, and a line here (its path pattern, title and, for the sidebar, a nav label).
 * A page of an area loaded on demand is re-exported by its area's module (src/areas/)
 * and named here with `lazyPage(area, 'ExportName')`.
 */
import type { ComponentType } from 'preact';
import type { User } from '../api.ts';
import type { TimeView } from '../time.ts';
import { OverviewPage } from './overview.tsx';
import { NodesPage } from './nodes.tsx';
import { NodePage } from './node.tsx';
import { ComparePage } from './compare.tsx';
import { AlertsPage } from './alerts.tsx';
import { chunk, lazyPage } from '../lazy.tsx';

// The entry holds the shell, login, overview, nodes and alerts; each other area is a chunk
// of its own, fetched when one of its pages is first shown (docs/adr/0024-web-dashboard.md).
const mail = chunk(() => import('../areas/mail.ts'));
const ops = chunk(() => import('../areas/ops.ts'));
const lab = chunk(() => import('../areas/lab.ts'));
const agents = chunk(() => import('../areas/agents.ts'));
const DeliveryPage = lazyPage(mail, 'DeliveryPage');
const DestinationsPage = lazyPage(mail, 'DestinationsPage');
const DestinationPage = lazyPage(mail, 'DestinationPage');
const TracePage = lazyPage(mail, 'TracePage');
const IpsPage = lazyPage(mail, 'IpsPage');
const IpPage = lazyPage(mail, 'IpPage');
const PoolsPage = lazyPage(mail, 'PoolsPage');
const DomainsPage = lazyPage(mail, 'DomainsPage');
const DomainPage = lazyPage(mail, 'DomainPage');
const RulesPage = lazyPage(ops, 'RulesPage');
const RuleEditPage = lazyPage(ops, 'RuleEditPage');
const SilencesPage = lazyPage(ops, 'SilencesPage');
const ChannelsPage = lazyPage(ops, 'ChannelsPage');
const ProbesPage = lazyPage(ops, 'ProbesPage');
const ProbePage = lazyPage(ops, 'ProbePage');
const DevicesPage = lazyPage(lab, 'DevicesPage');
const DevicePage = lazyPage(lab, 'DevicePage');
const ConfigChangesPage = lazyPage(lab, 'ConfigChangesPage');
const DeviceConfigsPage = lazyPage(lab, 'DeviceConfigsPage');
const RunsPage = lazyPage(agents, 'RunsPage');
const RunPage = lazyPage(agents, 'RunPage');
const ApprovalsPage = lazyPage(agents, 'ApprovalsPage');
const UsagePage = lazyPage(agents, 'UsagePage');
const AuditPage = lazyPage(agents, 'AuditPage');

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
  { path: '/mail/pools', title: 'IP pools', component: PoolsPage },
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
