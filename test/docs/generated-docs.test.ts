import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOC_FILES, familyDocs, renderedDocs } from '../../scripts/gen-docs.ts';
import { FAMILIES } from '../../src/modules/families.ts';
import { probeMailq, probeService } from '../support/node-families.ts';

test('the generated parts of docs/schema.md, docs/api.md and README.md are current (npm run docs:gen)', async () => {
  const r = await renderedDocs();
  assert.equal(readFileSync(DOC_FILES.api, 'utf8'), r.api, 'docs/api.md is stale: run npm run docs:gen');
  assert.equal(readFileSync(DOC_FILES.schema, 'utf8'), r.schema, 'docs/schema.md is stale: run npm run docs:gen');
  assert.equal(readFileSync(DOC_FILES.readme, 'utf8'), r.readme, 'README.md configuration table is stale: run npm run docs:gen');
});

test('docs/schema.md documents every column of every family', () => {
  const doc = readFileSync(DOC_FILES.schema, 'utf8');
  for (const f of FAMILIES) {
    assert.ok(doc.includes(`### \`${f.table}\``), f.table);
    for (const c of f.columns) assert.ok(doc.includes(`| \`${c.name}\` | \`${c.field}\` |`), `${f.table}.${c.name}`);
  }
});

test("docs/schema.md says which identity column is a family's node, and an identity column's own rule", () => {
  const doc = familyDocs([probeMailq, probeService]);
  assert.ok(doc.includes('API type `probe_mailq` · identity (`queue`, `host`, `time`) · node column `host` · sampled every 30 seconds'), doc);
  assert.ok(doc.includes('| `host` | `host` | text | — | identity, node | — | Node holding the queue (nodes.id) |'), doc);
  assert.ok(doc.includes('| `queue` | `queue` | text | — | identity | — | Queue name |'), doc);
  assert.ok(doc.includes('API type `probe_service` · identity (`service`, `address`, `time`) · no node column (rows register no nodes) · sampled every 30 seconds'), doc);
  assert.ok(doc.includes('| `address` | `address` | text | — | identity | — | Probed IP address (v4 or v6) (must match /^[0-9A-Fa-f.:]+$/ (the whole value), at most 45 characters) |'), doc);
  assert.ok(familyDocs(FAMILIES).includes('| `node_id` | `nodeId` | text | — | identity, node | — | Node that reported the sample (nodes.id) |'));
});
