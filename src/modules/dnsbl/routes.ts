/** /api/v1/dnsbl/zones and /api/v1/dnsbl/tiers: the DNSBL lists checked, their tiers, check frequency and auto-response. */
import { z } from 'zod';
import type { App, AppDeps } from '../../http/app.ts';
import { problemSchema } from '../../http/problem.ts';
import type { DnsblService } from './service.ts';
import { AUTO_RESPONSES, DNSBL_TIERS } from './zones.ts';

const READ = { role: 'viewer', scope: 'read' } as const;
const WRITE = { role: 'operator', scope: 'admin' } as const;

const zone = z.object({ zone: z.string(), tier: z.enum(DNSBL_TIERS), enabled: z.boolean(), ipv6: z.boolean(), delistUrl: z.string().nullable(), description: z.string(), createdAt: z.string(), updatedAt: z.string() });
const zoneFields = {
  tier: z.enum(DNSBL_TIERS),
  enabled: z.boolean().default(true),
  ipv6: z.boolean().default(false).describe('The zone answers IPv6 (nibble) queries; IPv6 addresses are checked only against such zones'),
  delistUrl: z.url({ protocol: /^https?$/ }).max(500).nullable().default(null),
  description: z.string().max(500).default(''),
};
const zoneParams = z.object({ zone: z.string().min(1).max(253) });
const tier = z.object({ tier: z.enum(DNSBL_TIERS), checkIntervalSeconds: z.number().int(), autoResponse: z.enum(AUTO_RESPONSES) });

export function dnsblRoutes(app: App, _deps: AppDeps, dnsbl: DnsblService): void {
  app.get('/api/v1/dnsbl/zones', { config: { access: READ }, schema: { tags: ['dnsbl'], summary: 'DNSBL zones checked, critical tier first', response: { 200: z.object({ items: z.array(zone) }) } } }, async () => ({ items: await dnsbl.listZones() }));
  app.post(
    '/api/v1/dnsbl/zones',
    {
      config: { access: WRITE },
      schema: { tags: ['dnsbl'], summary: 'Add a DNSBL zone', description: 'A zone that is not a host name is 400 INVALID_ZONE naming `zone`; one already configured 409 DNSBL_ZONE_EXISTS.', body: z.strictObject({ zone: z.string().min(1).max(253), ...zoneFields }), response: { 201: zone, 400: problemSchema, 409: problemSchema } },
    },
    async (req, reply) => reply.code(201).send(await dnsbl.createZone(req.body)),
  );
  app.put(
    '/api/v1/dnsbl/zones/:zone',
    { config: { access: WRITE }, schema: { tags: ['dnsbl'], summary: 'Replace a zone\'s tier, flags, delisting link and description', params: zoneParams, body: z.strictObject(zoneFields), response: { 200: zone, 400: problemSchema, 404: problemSchema } } },
    async (req) => dnsbl.updateZone(req.params.zone, req.body),
  );
  app.delete(
    '/api/v1/dnsbl/zones/:zone',
    { config: { access: WRITE }, schema: { tags: ['dnsbl'], summary: 'Stop checking a zone (its current listings go; its check history stays)', params: zoneParams, response: { 204: z.null(), 400: problemSchema, 404: problemSchema } } },
    async (req, reply) => {
      await dnsbl.deleteZone(req.params.zone);
      return reply.code(204).send(null);
    },
  );
  app.get('/api/v1/dnsbl/tiers', { config: { access: READ }, schema: { tags: ['dnsbl'], summary: 'Check interval and auto-response of each tier', response: { 200: z.object({ items: z.array(tier) }) } } }, async () => ({ items: await dnsbl.listTiers() }));
  app.put(
    '/api/v1/dnsbl/tiers/:tier',
    {
      config: { access: WRITE },
      schema: { tags: ['dnsbl'], summary: 'Set a tier\'s check interval (per IP and zone) and auto-response', params: z.object({ tier: z.enum(DNSBL_TIERS) }), body: z.strictObject({ checkIntervalSeconds: z.number().int().min(60).max(604_800), autoResponse: z.enum(AUTO_RESPONSES) }), response: { 200: tier, 400: problemSchema } },
    },
    async (req) => dnsbl.updateTier(req.params.tier, req.body),
  );
}
