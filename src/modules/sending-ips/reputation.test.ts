/**
 * The sending-IP reputation score as a pure function: each term and the clamp, with
 * the points written by hand from the formula in docs/mail.md ("IP reputation score").
 * The stored column and the job's pass over the database are tested with real DNSBL
 * listings in src/modules/dnsbl/checker.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipScore } from './reputation.ts';

const clean = { checked: true, confirmed: true };

test('a clean IP with 2 % bounces and 0.05 % complaints scores 94 (bounce rate × 3)', () => {
  const s = ipScore({ last24h: { attempts: 2000, bounceRate: 2, complaintRate: 0.05 }, listingTiers: [], ptr: clean });
  assert.deepEqual(s, { score: 94, deductions: [{ term: 'bounce_rate_24h', points: 6, value: 2 }], notEvaluated: [] });
});

test('complaints at 0.1 % cost 10, at 0.3 % cost 25; a bounce rate over 5 % costs 20', () => {
  assert.equal(ipScore({ last24h: { attempts: 1000, bounceRate: 0, complaintRate: 0.1 }, listingTiers: [], ptr: clean }).score, 90);
  assert.equal(ipScore({ last24h: { attempts: 1000, bounceRate: 0, complaintRate: 0.3 }, listingTiers: [], ptr: clean }).score, 75);
  assert.equal(ipScore({ last24h: { attempts: 1000, bounceRate: 5.1, complaintRate: 0 }, listingTiers: [], ptr: clean }).score, 80);
});

test('listings cost by tier (critical 40, high 20, medium 10, low 5 each); a PTR that does not point back 10', () => {
  const s = ipScore({ last24h: { attempts: 10, bounceRate: 0, complaintRate: 0 }, listingTiers: ['high', 'medium', 'medium', 'low'], ptr: { checked: true, confirmed: false } });
  assert.equal(s.score, 45);
  assert.deepEqual(s.deductions.map((d) => [d.term, d.points, d.value]), [
    ['listed_high', 20, 1],
    ['listed_medium', 20, 2],
    ['listed_low', 5, 1],
    ['ptr', 10, 'false'],
  ]);
});

test('the score is clamped at 0 and is an integer', () => {
  assert.equal(ipScore({ last24h: { attempts: 500, bounceRate: 12, complaintRate: 1 }, listingTiers: ['critical', 'critical'], ptr: clean }).score, 0);
  assert.equal(ipScore({ last24h: { attempts: 300, bounceRate: 1.15, complaintRate: null }, listingTiers: [], ptr: clean }).score, 97, '100 − 3.45, rounded');
});

test('no attempts in 24 h: rates are not evaluated, listings and PTR still are; an unchecked PTR is not evaluated', () => {
  const s = ipScore({ last24h: { attempts: 0, bounceRate: null, complaintRate: null }, listingTiers: ['critical'], ptr: { checked: false, confirmed: null } });
  assert.deepEqual(s, { score: 60, deductions: [{ term: 'listed_critical', points: 40, value: 1 }], notEvaluated: ['bounce_rate_24h', 'complaint_rate_24h', 'ptr'] });
});
