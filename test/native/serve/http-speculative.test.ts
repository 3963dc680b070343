// Speculative decoding through the internal protocol: a drafting decode role server pulls the KV hand-off from a
// prefill role server, asking for the MTP drafter's state ("mtp": true), and drafts from it — its greedy tokens equal a
// non-drafting decode server's for the same prefill, and its /metrics count drafts (a hand-off without the state would
// have decoded without drafting: 0 drafts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import type { EngineOptions } from '../../../runtime/src/serve/engine/types.js';
import { microServe } from './fixtures.js';
import { roleServer } from './http-fixture.js';

const c = modelConfig('deepseek-v3-tiny', microServe);
const engine = (o: Partial<EngineOptions> = {}) => Engine.random(c, byteTokenizer, { maxBatch: 4, maxQueue: 8, precision: 'fp32', ...o }, 31);

async function generate(decodeUrl: string, prefillUrl: string, prompt: string): Promise<number[]> {
  const res = await fetch(`${decodeUrl}/internal/v1/generate`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: prompt, promptIds: Array.from(byteTokenizer.encode(prompt)), params: { maxTokens: 12, temperature: 0, topP: 1, seed: 1, stopTokenIds: [] }, prefillUrl }),
  });
  assert.equal(res.status, 200);
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(lines.at(-1)), ['finish', 'usage']);
  return lines.filter((l) => 'token' in l).map((l) => l.token);
}

test('a drafting decode pod asks prefill for the MTP state and drafts from it; tokens as a non-drafting decode pod', async () => {
  const [pe, plainE, draftE] = [engine(), engine(), engine({ speculative: { method: 'mtp', tokens: 2 } })];
  const [prefill, plain, drafting] = await Promise.all([roleServer('prefill', pe), roleServer('decode', plainE), roleServer('decode', draftE)]);
  try {
    for (const prompt of ['the cat sat', 'hello']) {
      assert.deepEqual(await generate(drafting.url(), prefill.url(), prompt), await generate(plain.url(), prefill.url(), prompt));
    }
    const metrics = await (await fetch(`${drafting.url()}/metrics`)).text();
    const drafted = Number(/^moe_serve_spec_draft_tokens_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1]);
    assert.ok(drafted > 0, `the drafting decode pod should have drafted from the handed-over state:\n${metrics.split('\n').filter((l) => l.includes('spec')).join('\n')}`);
    assert.doesNotMatch(await (await fetch(`${plain.url()}/metrics`)).text(), /moe_serve_spec_/);
  } finally {
    for (const s of [prefill, plain, drafting]) s.kill();
    await Promise.all([pe.close(), plainE.close(), draftE.close()]);
  }
});
