/**
 * IP pools (`/mail/pools`): the pools ZoneMTA's sending zones send from, with their IPs by
 * status (each count opens the IP list filtered by pool); operators create and delete
 * pools and put IPs into one by range or node; and ZoneMTA's `pools` configuration of a node
 * as Opsdeck writes it (TOML to paste, the shares with their reasons, the IPs left out).
 */
import { useState } from 'preact/hooks';
import { api, apiResponse, can } from '../../api.ts';
import { Field, FormErrors, inputValue, useSubmit, type FieldErrors } from '../../components/form.tsx';
import { Table } from '../../components/table.tsx';
import { tick, useData } from '../../data.ts';
import { formatNumber } from '../../format.ts';
import { Link } from '../../link.tsx';
import { setQuery } from '../../router.ts';
import type { IpPool, ZoneMtaPools } from '../../../../src/modules/sending-ips/pools.ts';
import type { PageProps } from '../index.ts';
import { isCidr, STATUSES } from './ips.tsx';
import { isNodeId, MailNav } from './common.tsx';

/** The API's pool-name rule (ip_pools_name_check), for a message before sending. */
const POOL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function NewPool() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const form = useSubmit({
    check: () => {
      const p: FieldErrors = {};
      if (!POOL_NAME.test(name.trim())) p.name = 'lower-case letters, digits, - and _ (at most 63), starting with a letter or digit';
      if (description.length > 500) p.description = 'at most 500 characters';
      return p;
    },
    send: () => api('/api/v1/ip-pools', { method: 'POST', body: { name: name.trim(), ...(description ? { description } : {}) } }),
    done: () => {
      setName('');
      setDescription('');
      tick.set(tick.get() + 1);
    },
  });
  return (
    <form class="mail-filters" data-form="new-pool" noValidate onSubmit={form.onSubmit}>
      <Field class="mail-field" label="New pool" path="name" errors={form.errors}>
        <input name="name" placeholder="transactional" value={name} aria-invalid={form.errors.name ? 'true' : undefined} onInput={(e) => setName(inputValue(e))} />
      </Field>
      <Field class="mail-field" label="Description" path="description" errors={form.errors}>
        <input name="description" placeholder="receipts and password resets" value={description} onInput={(e) => setDescription(inputValue(e))} />
      </Field>
      <FormErrors errors={form.errors} shown={['name', 'description']} />
      <div class="mail-filter-actions"><button type="submit" class="primary" disabled={form.busy}>Create</button></div>
    </form>
  );
}

/** Puts every IP of a range or of a node into a pool (or out of any): POST /api/v1/ip-pools/assign with a filter. */
function Assign({ pools }: { pools: IpPool[] }) {
  const [pool, setPool] = useState(pools[0]?.name ?? '');
  const [subnet, setSubnet] = useState('');
  const [node, setNode] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const form = useSubmit({
    check: () => {
      const p: FieldErrors = {};
      if (!subnet.trim() && !node.trim()) p.subnet = 'a range or a node (or both): which IPs to move';
      if (subnet.trim() && !isCidr(subnet.trim())) p['filter.subnet'] = 'an address range: address/prefix, e.g. 192.0.2.0/24';
      if (node.trim() && !isNodeId(node.trim())) p['filter.nodeId'] = 'a node id: letters, digits and . _ : @ - (starting with a letter or digit)';
      return p;
    },
    send: () =>
      api<{ pool: string | null; changed: string[]; unchanged: number }>('/api/v1/ip-pools/assign', {
        method: 'POST',
        body: { pool: pool === '-' ? null : pool, filter: { ...(subnet.trim() ? { subnet: subnet.trim() } : {}), ...(node.trim() ? { nodeId: node.trim() } : {}) } },
      }),
    done: (r) => {
      setDone(`${formatNumber(r.changed.length)} IPs moved ${r.pool ? `into ${r.pool}` : 'out of their pools'}; ${formatNumber(r.unchanged)} were there already.`);
      tick.set(tick.get() + 1);
    },
  });
  return (
    <form class="mail-filters" data-form="assign" noValidate onSubmit={form.onSubmit}>
      <Field class="mail-field" label="Move to" path="pool" errors={form.errors}>
        <select name="pool" value={pool} onChange={(e) => setPool(inputValue(e))}>
          {pools.map((p) => <option value={p.name}>{p.name}</option>)}
          <option value="-">no pool</option>
        </select>
      </Field>
      <Field class="mail-field" label="IPs in range" path="filter.subnet" errors={form.errors}>
        <input name="subnet" placeholder="192.0.2.0/24" value={subnet} onInput={(e) => setSubnet(inputValue(e))} />
      </Field>
      <Field class="mail-field" label="IPs of node" path="filter.nodeId" errors={form.errors}>
        <input name="nodeId" placeholder="mx-1" value={node} onInput={(e) => setNode(inputValue(e))} />
      </Field>
      <FormErrors errors={form.errors} shown={['pool', 'filter.subnet', 'filter.nodeId']} />
      <div class="mail-filter-actions"><button type="submit" class="primary" disabled={form.busy || pools.length === 0}>Move</button></div>
      {done && <p class="notice" role="status">{done}</p>}
    </form>
  );
}

/** ZoneMTA's pools for one node: the TOML Opsdeck writes, and why each IP has its share or is left out. */
function ZoneMta({ node }: { node: string }) {
  const q = node ? `?nodeId=${encodeURIComponent(node)}` : '';
  const cfg = useData((signal) => api<ZoneMtaPools>(`/api/v1/ip-pools/zonemta${q}`, { signal }), [q]);
  const toml = useData(async (signal) => (await apiResponse(`/api/v1/ip-pools/zonemta${q}${q ? '&' : '?'}format=toml`, { signal })).text(), [q]);
  const c = cfg.data;
  return (
    <div data-zonemta>
      {(cfg.error ?? toml.error) && <p class="error">{cfg.error ?? toml.error}</p>}
      {c && c.warnings.length > 0 && <ul class="reasons" data-warnings>{c.warnings.map((w) => <li>{w}</li>)}</ul>}
      {c && (
        <Table
          name="pool-shares"
          items={[...c.ratios.map((r) => ({ ...r, left: null as string | null })), ...c.excluded.map((e) => ({ ip: e.ip, pool: e.pool, ratio: null, detail: `${e.status}${e.reason ? `: ${e.reason}` : ''}`, left: e.status }))]}
          head={<><th>Pool</th><th>Address</th><th class="num">Share</th><th>Why</th></>}
          empty={<tr><td colSpan={4} class="hint">No IP of a pool{node ? ` on ${node}` : ''}.</td></tr>}
          row={(r) => (
            <tr data-share={r.ip} data-left={r.left ?? undefined}>
              <td>{r.pool}</td>
              <td><Link href={`/mail/ips/${encodeURIComponent(r.ip)}`}>{r.ip}</Link></td>
              <td class="num">{r.left ? 'left out' : r.ratio === null ? 'equal' : r.ratio}</td>
              <td class="msg">{r.detail}</td>
            </tr>
          )}
        />
      )}
      {toml.data !== undefined && toml.data !== null && (
        <>
          <p class="hint">Paste into the ZoneMTA configuration{node ? ` of ${node}` : ''} and reload ZoneMTA; a zone sends from its pool with <code>pool = "name"</code>. Scripts fetch it with an API key: <code>GET /api/v1/ip-pools/zonemta?nodeId=…&amp;format=toml</code>.</p>
          <pre data-toml>{toml.data}</pre>
        </>
      )}
    </div>
  );
}

export function PoolsPage({ user, query }: PageProps) {
  const pools = useData((signal) => api<{ items: IpPool[] }>('/api/v1/ip-pools', { signal }).then((a) => a.items), []);
  const [node, setNode] = useState(query.get('nodeId') ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  const operator = can(user, 'operator');
  const remove = async (name: string) => {
    setProblem(null);
    try {
      await api(`/api/v1/ip-pools/${encodeURIComponent(name)}`, { method: 'DELETE' });
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    }
    tick.set(tick.get() + 1);
  };
  const list = pools.data ?? [];
  return (
    <section class="page mail pools">
      <h1>IP pools</h1>
      <MailNav current="pools" />
      {pools.error && <p class="error">{pools.error}</p>}
      {problem && <p class="error" role="alert">{problem}</p>}
      {operator && <NewPool />}
      {pools.data && list.length === 0 && (
        <div class="empty-state">
          <p>No IP pool yet. A pool groups the sending IPs a ZoneMTA sending zone uses (transactional, marketing …): create one here, then move IPs into it by range or node; Opsdeck then writes ZoneMTA's <code>pools</code> configuration.</p>
        </div>
      )}
      {list.length > 0 && (
        <Table
          name="pools"
          items={list}
          head={<><th>Pool</th><th>Description</th><th class="num">IPs</th>{STATUSES.map((s) => <th class="num">{s}</th>)}{operator && <th />}</>}
          row={(p) => (
            <tr data-pool={p.name}>
              <td><Link href={`/mail/ips?pool=${encodeURIComponent(p.name)}`}>{p.name}</Link></td>
              <td>{p.description}</td>
              <td class="num">{formatNumber(p.ips.total)}</td>
              {STATUSES.map((s) => <td class={`num${(s === 'paused' || s === 'blacklisted') && p.ips[s] > 0 ? ' bad' : ''}`}>{formatNumber(p.ips[s])}</td>)}
              {operator && <td>{p.ips.total === 0 ? <button type="button" data-action="delete" onClick={() => void remove(p.name)}>Delete</button> : <span class="hint">not empty</span>}</td>}
            </tr>
          )}
        />
      )}
      {operator && list.length > 0 && (
        <>
          <h2>Move IPs</h2>
          <Assign pools={list} />
        </>
      )}
      <h2>ZoneMTA configuration</h2>
      <form class="mail-filters" noValidate onSubmit={(e) => {
        e.preventDefault();
        setQuery({ nodeId: node.trim() || null });
      }}>
        <label class="mail-field">
          <span>Node (empty: every IP)</span>
          <input name="configNode" placeholder="mx-1" value={node} onInput={(e) => setNode(inputValue(e))} />
        </label>
        <div class="mail-filter-actions"><button type="submit">Show</button></div>
      </form>
      <ZoneMta node={query.get('nodeId') ?? ''} />
    </section>
  );
}
