// The model-based reward over real HTTP: a local OpenAI-style server stands in for the judge InferenceDeployment
// (the e2e test runs a real one). Scores are parsed and scaled, retries cover a 503, a judge that never answers
// within its timeout or whose port is closed makes each call fail with JudgeUnavailableError naming the URL (the
// sample scores 0 and is counted), and a GRPO run whose every judge call fails stops with that error — no hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Rewards } from '../../../runtime/src/post/rewards.js';
import { JudgeUnavailableError } from '../../../runtime/src/post/judge.js';
import { runGrpo } from '../../../runtime/src/post/run-grpo.js';
import { grpoSettings } from '../../../runtime/src/post/settings.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { microOverrides } from '../parallel/train-fixture.js';

async function judgeServer(answer: (body: any, n: number) => { status: number; content?: string } | 'hang'): Promise<{ url: string; server: Server; bodies: any[] }> {
  const bodies: any[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      bodies.push(body);
      const a = answer(body, bodies.length);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.status === 200 ? { choices: [{ message: { role: 'assistant', content: a.content } }] } : { error: { message: 'busy' } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server, bodies };
}

const closedPort = async (): Promise<number> => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
};

const judgeReward = (timeoutSeconds: number, retries: number) => ({ type: 'judge' as const, timeoutSeconds, judge: { inferenceDeployment: 'j', prompt: 'Q: {prompt} A: {response} R: {reference}', maxScore: 10, retries } });
const sample = { question: '2+2?', response: '4', reference: '4', language: 'python' as const };

test('a judge that answers: the prompt is filled, the score parsed and scaled; a 503 is retried', async () => {
  const j = await judgeServer((_, n) => (n === 1 ? { status: 503 } : { status: 200, content: ' 7 out of 10' }));
  try {
    const r = new Rewards([judgeReward(5, 2)], { judges: { j: { baseUrl: j.url, model: 'judge-chat' } } });
    const out = await r.score([sample]);
    assert.deepEqual(out.rewards, [0.7]);
    assert.equal(out.errors, 0);
    assert.equal(j.bodies.length, 2);
    assert.equal(j.bodies[1].model, 'judge-chat');
    assert.equal(j.bodies[1].messages[0].content, 'Q: 2+2? A: 4 R: 4');
    assert.equal(j.bodies[1].temperature, 0);
  } finally {
    j.server.close();
  }
});

test('a judge that hangs or whose port is closed: each call fails within its limits naming the URL, scored 0 and counted', async () => {
  const hang = await judgeServer(() => 'hang');
  try {
    const t0 = performance.now();
    const r = new Rewards([judgeReward(1, 1), { type: 'exactMatch' }], { judges: { j: { baseUrl: hang.url, model: 'j' } } });
    const out = await r.score([sample, sample]);
    assert.deepEqual(out.rewards, [1, 1]); // exactMatch still counts; the judge part scored 0
    assert.equal(out.errors, 2);
    assert.equal(out.judgeCalls, 2);
    assert.equal(out.judgeFailures, 2);
    assert.equal(out.judgeError!.url, `${hang.url}/chat/completions`);
    assert.match(out.judgeError!.error, /no answer after 2 attempts \(timeout 1 s each\): timed out/);
    assert.ok(performance.now() - t0 < 10_000, 'bounded by timeout × attempts + backoff');
  } finally {
    hang.server.closeAllConnections();
    hang.server.close();
  }
  const port = await closedPort();
  const down = new Rewards([judgeReward(2, 0)], { judges: { j: { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'j' } } });
  const out = await down.score([sample]);
  assert.equal(out.judgeFailures, 1);
  assert.match(out.judgeError!.error, /ECONNREFUSED|connect/);
});

test('a GRPO run whose judge is unreachable stops with JudgeUnavailableError naming the URL', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-grpo-judge-'));
  try {
    const file = path.join(tmp, 'p.jsonl');
    writeFileSync(file, '{"prompt":"1+1=","reference":"2"}\n{"prompt":"2+2=","reference":"4"}\n');
    const port = await closedPort();
    const opts = defaultTrainOptions({ steps: 3, batch: 1, seqLen: 12, precision: 'fp32', overrides: microOverrides, checkpointEvery: 0 });
    const s = grpoSettings({ groupSize: 2, promptsPerStep: 2, maxNewTokens: 4, rewards: [judgeReward(1, 0)] }, { j: { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'j' } });
    const err = await runGrpo(opts, s, file, path.join(tmp, 'run'), { info: () => {}, warn: () => {} }, {}).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof JudgeUnavailableError, String(err));
    assert.equal(err.url, `http://127.0.0.1:${port}/v1/chat/completions`);
    assert.match(err.message, /every judge call of step 1 failed/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
