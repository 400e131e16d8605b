import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunked, primed } from './answer.ts';

test('an answer ended before its first read still ends what it primed (the cursor behind it)', async () => {
  const events: string[] = [];
  const source = (async function* () {
    try {
      for (let i = 0; ; i++) yield `piece ${i};`;
    } finally {
      events.push('source ended');
    }
  })();
  const answer = await primed(chunked(source, 20));
  // the client went away between the first chunk being ready and the first write
  await answer.return();
  assert.deepEqual(events, ['source ended']);
});

test('a primed answer yields its first chunk, then the rest; errors before the first chunk reject the priming', async () => {
  const answer = await primed(chunked((async function* () {
    yield* ['a', 'b', 'c', 'd', 'e'];
  })(), 2));
  const out: string[] = [];
  for await (const c of answer) out.push(c);
  assert.deepEqual(out, ['ab', 'cd', 'e']);
  const failing = (async function* () {
    yield 'x';
    throw new Error('refused before the first chunk');
  })();
  await assert.rejects(primed(chunked(failing, 1000)), /refused before the first chunk/);
});

test('chunks are not joined past 96 Ki characters: a piece that would go past is passed on as it is', async () => {
  const a = 'a'.repeat(60_000);
  const b = 'b'.repeat(60_000);
  const big = 'c'.repeat(200_000);
  const out: string[] = [];
  for await (const c of chunked((async function* () {
    yield* [a, b, '[', big, ']'];
  })(), 64 * 1024)) out.push(c);
  // a and b together (120,000) would pass 98,304: a goes alone; b and '[' are still under 65,536, then big alone
  assert.deepEqual(out.map((c) => c.length), [60_000, 60_001, 200_000, 1]);
  assert.equal(out.join(''), `${a}${b}[${big}]`);
});
