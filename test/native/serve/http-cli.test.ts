// `moe-runtime serve` as separate processes, as pods run it: a decode and a prefill server load an export of a tiny
// random model, a router with --routes serves a chat completion through them, SIGTERM drains and exits 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { writeExport } from '../../../runtime/src/checkpoint/export.js';
import { buildParams } from '../../../runtime/src/model/transformer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { call, deadUrl, metricValue, post, sseEvents, tinyConfig } from './http-fixture.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/cli.js');
let dir: string;
const procs: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'moe-serve-cli-'));
  const P = buildParams(tinyConfig, alloc32, new Rng(3));
  const weights = new Map<string, Float32Array>();
  for (const p of P.list()) weights.set(p.name, p.data as Float32Array);
  for (const [name, b] of P.buffers) weights.set(name, Float32Array.from(b));
  writeExport(path.join(dir, 'export'), tinyConfig, weights, { tokenizer: byteTokenizer.toJSON() });
});
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Started { proc: ChildProcess; url: string; lines: Record<string, unknown>[]; exited: Promise<number | null>; stderr: () => string }

/** Starts `moe-runtime serve` with a clean env (no cluster) and waits for its "serving" log line. */
function serve(args: string[], extraEnv: Record<string, string> = {}): Promise<Started> {
  const env = { PATH: process.env.PATH ?? '', MOE_SERVED_MODEL_NAME: 'tiny-cli', ...extraEnv };
  const proc = spawn(process.execPath, [CLI, 'serve', '--model', path.join(dir, 'export'), '--port', '0', '--precision', 'fp32', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  const lines: Record<string, unknown>[] = [];
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line.msg === 'serving' || line.msg === 'serving expert shard') resolve({ proc, url: String(line.url), lines, exited, stderr: () => err });
      }
    });
    void exited.then((code) => reject(new Error(`serve ${args.join(' ')} exited ${code} before serving: ${err}`)));
  });
}

test('router + prefill + decode processes serve a streamed chat completion; SIGTERM exits 0', async () => {
  const decode = await serve(['--role', 'decode', '--max-batch', '4']);
  const prefill = await serve(['--role', 'prefill']);
  const routes = JSON.stringify({ model: 'ignored-when-named', prefill: [{ replica: 0, url: prefill.url }], decode: [{ replica: 0, url: decode.url }] });
  const router = await serve(['--role', 'router', '--routes', routes]);
  const models = await call(router.url, 'GET', '/v1/models');
  assert.equal(models.json.data[0].id, 'tiny-cli');
  const r = await post(router.url, '/v1/chat/completions', { model: 'tiny-cli', messages: [{ role: 'user', content: 'hi' }], max_tokens: 12, temperature: 0, stream: true });
  const ev = sseEvents(r.text);
  assert.equal(ev.at(-1), '[DONE]', `${r.status} ${r.text}; router log: ${JSON.stringify(router.lines)}; decode stderr: ${decode.stderr()}`);
  assert.equal(ev.at(-2).choices[0].finish_reason, 'length');
  for (const s of [router, decode, prefill]) {
    s.proc.kill('SIGTERM');
    assert.equal(await s.exited, 0, `exit code; stderr: ${s.stderr()}; log: ${JSON.stringify(s.lines)}`);
    assert.ok(s.lines.some((l) => l.msg === 'stopped'), JSON.stringify(s.lines));
  }
  assert.ok(decode.lines.some((l) => l.msg === 'model loaded'));
});

test('a decode replica of two pods, star layout: the leader serves with experts across both, the follower answers health; both exit 0', async () => {
  const masterPort = new URL(await deadUrl()).port;
  const gang = (index: number) => ({ MOE_PODS_PER_REPLICA: '2', MOE_POD_INDEX: String(index), MASTER_ADDR: '127.0.0.1', MASTER_PORT: masterPort, MOE_DIST_TIMEOUT_MS: '60000' });
  const [leader, follower] = await Promise.all([serve(['--role', 'decode', '--ep-layout', 'star'], gang(0)), serve(['--role', 'decode', '--ep-layout', 'star'], gang(1))]);
  assert.equal((await call(follower.url, 'GET', '/readyz')).status, 200);
  assert.equal((await call(follower.url, 'POST', '/internal/v1/generate', {})).status, 404, 'the follower serves no traffic');
  const router = await serve(['--role', 'router', '--routes', JSON.stringify({ prefill: [], decode: [{ replica: 0, url: leader.url }] })]);
  const r = await post(router.url, '/v1/completions', { model: 'tiny-cli', prompt: 'two pods', max_tokens: 6, temperature: 0 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.completion_tokens, 6);
  router.proc.kill('SIGTERM');
  leader.proc.kill('SIGTERM');
  assert.equal(await leader.exited, 0, leader.stderr());
  // Closing the leader's engine stops the replica: the follower leaves on its own.
  assert.equal(await follower.exited, 0, follower.stderr());
  assert.ok(follower.lines.some((l) => l.msg === 'stopped' && l.why === 'the leader stopped the replica'), JSON.stringify(follower.lines));
  await router.exited;
});

test('a decode replica of two pods, all-to-all layout (the default): the leader spreads requests over both pods, each pulls its hand-off from prefill, greedy text as one pod; SIGTERM to the leader stops both with 0', async () => {
  const prompts = ['two pods', 'all to all', 'data parallel', 'experts'];
  const complete = (url: string, prompt: string) => post(url, '/v1/completions', { model: 'tiny-cli', prompt, max_tokens: 6, temperature: 0 });
  // The baseline: one decode pod.
  const one = await serve(['--role', 'decode']);
  const oneRouter = await serve(['--role', 'router', '--routes', JSON.stringify({ prefill: [], decode: [{ replica: 0, url: one.url }] })]);
  const want = [];
  for (const p of prompts) want.push((await complete(oneRouter.url, p)).json.choices[0].text);
  for (const s of [oneRouter, one]) s.proc.kill('SIGTERM');

  const masterPort = new URL(await deadUrl()).port;
  const gang = (index: number) => ({ MOE_PODS_PER_REPLICA: '2', MOE_POD_INDEX: String(index), MASTER_ADDR: '127.0.0.1', MASTER_PORT: masterPort, MOE_DIST_TIMEOUT_MS: '60000' });
  const [leader, follower] = await Promise.all([serve(['--role', 'decode'], gang(0)), serve(['--role', 'decode'], gang(1))]);
  const prefill = await serve(['--role', 'prefill']);
  const router = await serve(['--role', 'router', '--routes', JSON.stringify({ prefill: [{ replica: 0, url: prefill.url }], decode: [{ replica: 0, url: leader.url }] })]);
  const got = await Promise.all(prompts.map((p) => complete(router.url, p)));
  for (const r of got) assert.equal(r.status, 200, r.text);
  assert.deepEqual(got.map((r) => r.json.choices[0].text), want);
  // Both pods generated and took prompts (their own hand-offs).
  for (const s of [leader, follower]) {
    const m = (await call(s.url, 'GET', '/metrics')).text;
    assert.ok((metricValue(m, 'moe_serve_generation_tokens_total') ?? 0) > 0, `${s.url} generated nothing:\n${m}`);
    assert.ok((metricValue(m, 'moe_serve_prompt_tokens_total') ?? 0) > 0, `${s.url} took no prompt`);
  }
  assert.ok(leader.lines.some((l) => l.msg === 'data-parallel decode replica'), JSON.stringify(leader.lines));
  // Two long streams (one stays on the leader, one is relayed to the follower), dropped by their clients after the
  // first chunk: both pods' sequences end (running back to 0), none keeps decoding for a client that left.
  const cut = await Promise.all([0, 1].map(async (i) => {
    const ac = new AbortController();
    const res = await fetch(`${router.url}/v1/completions`, { method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny-cli', prompt: `long ${i}`, max_tokens: 4000, temperature: 0, stream: true }) });
    const reader = res.body!.getReader();
    const first = await reader.read();
    ac.abort();
    return { status: res.status, got: !first.done };
  }));
  assert.deepEqual(cut, [{ status: 200, got: true }, { status: 200, got: true }]);
  for (const s of [leader, follower]) {
    let running = -1;
    for (let i = 0; i < 100 && running !== 0; i++) {
      running = metricValue((await call(s.url, 'GET', '/metrics')).text, 'moe_serve_running') ?? -1;
      if (running !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(running, 0, `${s.url} still runs sequences after their clients left`);
  }
  router.proc.kill('SIGTERM');
  prefill.proc.kill('SIGTERM');
  leader.proc.kill('SIGTERM');
  assert.equal(await leader.exited, 0, leader.stderr());
  assert.equal(await follower.exited, 0, follower.stderr());
  assert.ok(follower.lines.some((l) => l.msg === 'stopped' && l.why === 'the leader stopped the replica'), JSON.stringify(follower.lines));
  await router.exited;
});

test('serve without a role or a model says which flag or env is missing', async () => {
  const run = (args: string[]) => new Promise<string>((resolve) => {
    const p = spawn(process.execPath, [CLI, 'serve', ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    p.on('exit', (code) => resolve(`${code}: ${err}`));
  });
  assert.match(await run([]), /^1: .*--role or MOE_SERVE_ROLE/);
  assert.match(await run(['--role', 'decode']), /^1: .*--model PATH or MOE_MODEL_PATH/);
  const empty = mkdtempSync(path.join(dir, 'empty-'));
  assert.match(await run(['--role', 'router', '--model', empty]), /^1: .*has no tokenizer\.json/);
  assert.match(await run(['--role', 'router', '--model', path.join(dir, 'export')]), /^1: .*routes are required/);
});
