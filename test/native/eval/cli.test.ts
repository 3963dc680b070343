// `moe-runtime eval` end to end: a process scores an export of a tiny random model on multiple-choice, generate and
// code tasks from --plan and writes result.json (the accuracy equal to scoring the same folder in this process); the
// flags form; exit 2 naming file:line for a bad task and exit 3 for an unreachable server, each with `error` in the
// result; and the pod form (MOE_EVAL_PLAN) merge-patching its result into the report ConfigMap.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { writeExport } from '../../../runtime/src/checkpoint/export.js';
import { buildParams } from '../../../runtime/src/model/transformer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { EvalConfigMaps, parseEvalResult, type EvalPlan } from '../../../operator/contract/index.js';
import type { ConfigMapStore } from '../../../runtime/src/kube/configmaps.js';
import { EngineModel } from '../../../runtime/src/eval/engine-model.js';
import { scoreMultipleChoice } from '../../../runtime/src/eval/multiple-choice.js';
import { parseTaskLines, type MultipleChoiceSample } from '../../../runtime/src/eval/tasks.js';
import { evalMain } from '../../../runtime/src/eval/main.js';
import { deadUrl, tinyConfig } from '../serve/http-fixture.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/cli.js');
let dir: string;
let model: string;
const f = (name: string): string => path.join(dir, name);

const MC = [
  { question: 'Question: 2 + 2 =\nAnswer:', choices: ['4', '5', '22'], answer: 0 },
  { question: 'The sky is', choices: ['blue', 'green'], answer: 0 },
  { context: 'fox', choices: ['jumps', 'sleeps', 'runs'], answer: 2 },
];

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'moe-eval-cli-'));
  model = f('export');
  const P = buildParams(tinyConfig, alloc32, new Rng(3));
  const weights = new Map<string, Float32Array>();
  for (const p of P.list()) weights.set(p.name, p.data as Float32Array);
  for (const [name, b] of P.buffers) weights.set(name, Float32Array.from(b));
  writeExport(model, tinyConfig, weights, { tokenizer: byteTokenizer.toJSON() });
  writeFileSync(f('mc.jsonl'), MC.map((x) => JSON.stringify(x)).join('\n') + '\n');
  writeFileSync(f('gen.jsonl'), '{"prompt":"1 + 1 =","answer":"2"}\n{"prompt":"Say 7:","answer":7}\n');
  // The completion lands inside a block comment, so every candidate passes whatever the random model writes.
  writeFileSync(f('code.jsonl'), `${JSON.stringify({ prompt: 'function f() { return 42; }\n/*', tests: '*/\nfunction check(g) { if (g() !== 42) throw new Error("bad"); }\n', language: 'javascript', entry_point: 'f' })}\n`);
  writeFileSync(f('bad.jsonl'), '{"question":"q","choices":["a","b"],"answer":0}\n{"question":"q","answer":1}\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const plan = (over: Partial<EvalPlan> = {}): EvalPlan => ({
  target: { kind: 'model', path: model },
  tasks: [
    { name: 'mc', type: 'multiple_choice', file: f('mc.jsonl') },
    { name: 'gen', type: 'generate', file: f('gen.jsonl'), maxTokens: 8 },
    { name: 'code', type: 'code', file: f('code.jsonl'), maxTokens: 8, samples: 2, k: [1, 2], timeoutSeconds: 5 },
  ],
  checkpoint: { step: 40, uri: 'file:///ck/step-00000040' },
  requestTimeoutSeconds: 10,
  retries: 0,
  ...over,
});

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, 'eval', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('moe-runtime eval', () => {
  it('--plan: scores the three task types, prints the table, writes result.json', async () => {
    writeFileSync(f('plan.json'), JSON.stringify(plan()));
    const r = await cli(['--plan', f('plan.json'), '--out', f('result.json'), '--details', f('details.json'), '--precision', 'fp32']);
    assert.equal(r.code, 0, r.stderr);
    // Per sample: the choices' log-likelihoods, the completions and extracted answers, the sandbox outcomes.
    const details = JSON.parse(readFileSync(f('details.json'), 'utf8')) as Record<string, any[]>;
    assert.deepEqual(Object.keys(details), ['mc', 'gen', 'code']);
    assert.equal(details.mc[0].choices.length, 3);
    assert.equal(typeof details.mc[0].choices[0].logLikelihood, 'number');
    assert.equal(typeof details.gen[1].completion, 'string');
    assert.deepEqual(details.code[0].runs.map((x: { status: string }) => x.status), ['passed', 'passed']);
    const res = parseEvalResult(readFileSync(f('result.json'), 'utf8'));
    assert.deepEqual(res.checkpoint, { step: 40, uri: 'file:///ck/step-00000040' });
    assert.equal(res.error, undefined);
    assert.deepEqual(res.scores.map((s) => [s.name, s.metric, s.n]), [['mc', 'accuracy', 3], ['mc', 'acc_norm', 3], ['gen', 'exact_match', 2], ['code', 'pass@1', 1], ['code', 'pass@2', 1]]);
    assert.deepEqual(res.scores.filter((s) => s.type === 'code').map((s) => s.score), [1, 1]);
    assert.ok(res.scores.find((s) => s.name === 'code')!.isolation);
    // The same folder scored in this process gives the same accuracy.
    const here = await EngineModel.load(model, { precision: 'fp32' });
    try {
      const mc = await scoreMultipleChoice(here, 'mc.jsonl', parseTaskLines(readFileSync(f('mc.jsonl'), 'utf8'), 'mc.jsonl', 'multiple_choice').samples as MultipleChoiceSample[], 4);
      assert.equal(res.scores[0].score, mc.accuracy.score);
      assert.equal(res.scores[0].stderr, mc.accuracy.stderr);
      assert.equal(res.scores[1].score, mc.accNorm.score);
    } finally {
      await here.close();
    }
    assert.match(r.stdout, /^task\s+type\s+metric\s+score\s+stderr\s+n\nmc\s+multiple_choice\s+accuracy\s+\d\.\d{4}\s+\d\.\d{4}\s+3\n/);
    assert.match(r.stdout, /\ncode\s+code\s+pass@2\s+1\.0000\s+0\.0000\s+1\n$/);
  });

  it('flags: --model with --task TYPE:NAME:FILE and --limit', async () => {
    const r = await cli(['--model', model, '--task', `multiple_choice:mc:${f('mc.jsonl')}`, '--limit', '2', '--precision', 'fp32']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nmc\s+multiple_choice\s+acc_norm\s+\S+\s+\S+\s+2\n/);
    const bad = await cli(['--model', model, '--task', 'essay:x:y.jsonl']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /tasks\[0\]\.type must be one of multiple_choice, generate, code, got "essay"/);
  });

  it('a bad task: exit 2 naming file:line and the missing field, before the model is loaded', async () => {
    writeFileSync(f('plan-bad.json'), JSON.stringify(plan({ target: { kind: 'model', path: f('no-such-model') }, tasks: [{ name: 'bad', type: 'multiple_choice', file: f('bad.jsonl') }] })));
    const r = await cli(['--plan', f('plan-bad.json'), '--out', f('bad-result.json')]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${f('bad.jsonl')}:2: missing field "choices"`), r.stderr);
    const res = parseEvalResult(readFileSync(f('bad-result.json'), 'utf8'));
    assert.deepEqual(res.error, { reason: 'BadTasks', message: `${f('bad.jsonl')}:2: missing field "choices"` });
    assert.deepEqual(res.scores, []);
  });

  it('an unreachable server: exit 3 after the retries; a model folder that does not load: exit 3 too', async () => {
    const url = await deadUrl();
    const r = await cli(['--url', `${url}/v1`, '--served-model', 'tiny', '--task', `multiple_choice:mc:${f('mc.jsonl')}`, '--retries', '1', '--out', f('dead.json')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /unreachable after 2 attempts .*ECONNREFUSED/);
    assert.equal(parseEvalResult(readFileSync(f('dead.json'), 'utf8')).error?.reason, 'ModelUnreachable');
    const gone = await cli(['--model', f('no-such-model'), '--task', `multiple_choice:mc:${f('mc.jsonl')}`]);
    assert.equal(gone.code, 3, gone.stderr);
    assert.match(gone.stderr, /cannot load the model folder .*no-such-model/);
  });

  it('in a pod: MOE_EVAL_PLAN is read and the result merge-patched into the report ConfigMap', async () => {
    writeFileSync(f('pod-plan.json'), JSON.stringify(plan({ tasks: [{ name: 'mc', type: 'multiple_choice', file: f('mc.jsonl'), limit: 2 }] })));
    const patches: [string, Record<string, string>][] = [];
    const store: ConfigMapStore = { namespace: 'ns', read: () => Promise.resolve(undefined), mergePatch: (name, data) => { patches.push([name, data]); return Promise.resolve(); } };
    const name = EvalConfigMaps.report.name('tiny-eval');
    const code = await evalMain(['--precision', 'fp32'], { MOE_EVAL_PLAN: f('pod-plan.json'), MOE_EVAL_REPORT_CONFIGMAP: name, MOE_NAMESPACE: 'ns' }, store);
    assert.equal(code, 0);
    assert.equal(patches.length, 1);
    assert.equal(patches[0][0], 'tiny-eval-eval-report');
    const res = parseEvalResult(patches[0][1][EvalConfigMaps.report.key]);
    assert.deepEqual(res.scores.map((s) => [s.metric, s.n]), [['accuracy', 2], ['acc_norm', 2]]);
    assert.equal(res.checkpoint?.step, 40);
  });
});
