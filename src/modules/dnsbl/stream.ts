/**
 * blacklist_checks: one row per DNSBL query of a sending IP (§6.1 of the
 * mail-cluster requirements, with the TXT reason and an error column added).
 * `listed` is null when the query failed (timeout, SERVFAIL, a Spamhaus
 * refusal code): such a check is an error, never clean or listed.
 */
import { defineStream } from '../../timeseries/stream.ts';
import { NODE_ID_MAX, NODE_ID_PATTERN, NODE_ID_RULE } from '../../timeseries/family.ts';
import { DNSBL_TIERS } from './zones.ts';

const ZONE = /^[a-z0-9.-]+$/;

export const blacklistChecks = defineStream({
  table: 'blacklist_checks',
  key: 'dnsbl',
  title: 'DNSBL checks',
  description: 'One row per DNSBL query of a sending IP: listed, clean or an error (a query that failed or was refused is never counted as clean or listed).',
  columns: {
    ip: { type: 'inet', required: true, dimension: true, description: 'The sending IP checked', source: 'sending_ips' },
    ip_version: { type: 'smallint', required: true, dimension: true, min: 4, max: 6, description: '4 or 6', source: 'the address' },
    node_id: { type: 'text', dimension: true, maxLength: NODE_ID_MAX, pattern: NODE_ID_PATTERN, patternRule: NODE_ID_RULE, description: 'Node the IP belongs to', source: 'sending_ips.node_id' },
    blacklist: { type: 'text', required: true, dimension: true, maxLength: 253, pattern: ZONE, patternRule: 'a DNS zone: lower-case letters, digits, dots and hyphens', description: 'The DNSBL zone asked', source: 'dnsbl_zones' },
    tier: { type: 'text', dimension: true, values: DNSBL_TIERS, description: 'The zone\'s tier when checked', source: 'dnsbl_zones.tier' },
    listed: { type: 'boolean', dimension: true, description: 'true: listed (A 127.0.0.2–255); false: clean (NXDOMAIN); null: the check failed (see error)', source: 'the DNSBL answer' },
    response: { type: 'text', maxLength: 512, description: 'The A answers as received, comma-separated', source: 'the DNSBL answer' },
    check_duration_ms: { type: 'integer', min: 0, max: 600_000, unit: 'ms', description: 'Time the query took', source: 'Opsdeck\'s DNSBL checker' },
    reason: { type: 'text', maxLength: 2000, description: 'TXT record of a listing (the list\'s reason and lookup link)', source: 'the DNSBL TXT answer' },
    error: { type: 'text', maxLength: 2000, description: 'Why the check failed: timeout, SERVFAIL, a Spamhaus refusal code (127.255.255.252/254/255), an unexpected answer', source: 'Opsdeck\'s DNSBL checker' },
  },
  idempotencyKey: ['ip', 'blacklist'],
  indexes: [['ip'], ['blacklist']],
  chunkInterval: '1 day',
  retention: '365 days',
  compressAfter: '30 days',
  segmentBy: 'blacklist',
  statsGroupBy: ['blacklist'],
  maxListWindow: '31 days',
  // Records of Opsdeck's own checks: written by the DNSBL checker only, read through the API.
  apiIngest: false,
  rollups: [],
});
