import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOC_FILES, renderedDocs } from '../../scripts/gen-docs.ts';
import { FAMILIES } from '../../src/modules/families.ts';

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
