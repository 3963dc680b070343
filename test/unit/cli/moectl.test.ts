// moectl plan as a user runs it: the compiled bin, real files, exit codes and messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
const bin = join(root, 'dist/operator/cli/moectl.js');
const example = join(root, 'examples/deepseek-v3-671b.yaml');
const dir = mkdtempSync(join(tmpdir(), 'moectl-'));

function moectl(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function job(spec: string): string {
  const f = join(dir, `job-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, `apiVersion: moe.io/v1alpha1\nkind: MoETrainingJob\nmetadata: {name: t}\nspec:\n${spec}`);
  return f;
}

test('plans the 671B example on a synthetic 2048-GPU fleet: summary, picture, traffic, memory, timeline', () => {
  const r = moectl('plan', example, '--fleet', '1x8x32x8');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /world size 2048 = PP 16 × EP 64 × DP 2 × TP 1; 256 pods × 8 GPUs/);
  assert.match(r.out, /leaf s0-l0 +0a 0a 0a 0a 0a 0a 0a 0a 1a/);
  assert.match(r.out, /^ {2}spine +40 /m);
  assert.match(r.out, /memory per GPU/);
  assert.match(r.out, /two stages held/);
  assert.match(r.out, /^ {2}pp15 f/m);
  assert.equal(r.out.match(/^ {2}pp\d\d /gm)?.length, 16);
});

test('-o json prints the plan and --svg writes the timeline and the placement map', () => {
  const svg = join(dir, 'plan.svg');
  const r = moectl('plan', example, '--fleet', '1x8x32x8', '-o', 'json', '--svg', svg);
  assert.equal(r.code, 0, r.err);
  const plan = JSON.parse(r.out);
  assert.equal(plan.worldSize, 2048);
  assert.equal(plan.placement.length, 256);
  const text = readFileSync(svg, 'utf8');
  assert.match(text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(text, /pp 15/);
  assert.match(text, /gpu-s0-l7-n31: stage 15, replica 1/);
});

test('an unknown preset exits 1 and names the field', () => {
  const r = moectl('plan', job('  model: {preset: deepseek-v9}\n  parallelism: {expert: 1}\n'), '--fleet', '1x1x1x8');
  assert.equal(r.code, 1);
  assert.match(r.err, /error: spec\.model\.preset: unknown preset "deepseek-v9"/);
});

test('impossible parallelism exits 1 naming each field', () => {
  const r = moectl('plan', job('  model: {preset: deepseek-v3-tiny}\n  parallelism: {pipeline: {stages: 3, schedule: DualPipe, microBatches: 5}, expert: 3}\n'), '--fleet', '1x1x4x8');
  assert.equal(r.code, 1);
  assert.match(r.err, /spec\.parallelism\.pipeline\.stages: DualPipe needs an even number/);
  assert.match(r.err, /spec\.parallelism\.pipeline\.microBatches:/);
  assert.match(r.err, /spec\.parallelism\.expert: n_routed_experts \(16\) must be divisible by expert \(3\)/);
});

test('malformed YAML exits 2 with the line', () => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'apiVersion: moe.io/v1alpha1\nkind: MoETrainingJob\nspec:\n  model: [unclosed\n');
  const r = moectl('plan', f, '--fleet', '1x1x1x8');
  assert.equal(r.code, 2);
  assert.match(r.err, /bad\.yaml:\d+:\d+: malformed YAML/);
});

test('wrong kind, bad --fleet and missing fleet source are usage errors', () => {
  const f = join(dir, 'pod.yaml');
  writeFileSync(f, 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n');
  assert.match(moectl('plan', f, '--fleet', '1x1x1x8').err, /kind: expected MoETrainingJob/);
  const bad = moectl('plan', example, '--fleet', '2x4');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--fleet "2x4": expected SPINESxLEAVESxNODESxGPUS/);
  const none = moectl('plan', example);
  assert.equal(none.code, 2);
  assert.match(none.err, /give --fleet SxLxNxG .* or --kubeconfig PATH/);
  assert.equal(moectl('frobnicate').code, 2);
});

test('--exclude leaves nodes out; the picture marks them once and the plan uses the free room of another leaf', () => {
  const f = job('  model: {preset: deepseek-v3-tiny}\n  parallelism: {pipeline: {stages: 2, schedule: DualPipeV, microBatches: 6}, expert: 4, gpusPerPod: 4}\n  training: {globalBatchSize: 24, sequenceLength: 256}\n');
  const r = moectl('plan', f, '--fleet', '1x2x2x4', '--exclude', 'gpu-s0-l0-n0');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /leaf s0-l0 +xx ··\n/);
  assert.match(r.out, /leaf s0-l1 +0a 1a\n/);
  assert.match(r.out, /gpu-s0-l0-n0: listed in spec\.packing\.excludeNodes/);
  assert.match(r.out, /cross-leaf 0 B/);
});

test('a topology file replaces the default levels', () => {
  const topo = join(dir, 'topo.yaml');
  writeFileSync(topo, 'apiVersion: moe.io/v1alpha1\nkind: ClusterTopology\nmetadata: {name: default}\nspec:\n  levels:\n    - {name: nvlink, nodeLabel: moe.io/nvlink-domain, gbpsPerGpu: 200}\n    - {name: leaf, nodeLabel: moe.io/leaf, gbpsPerGpu: 25}\n  gpusPerNode: 8\n');
  const r = moectl('plan', job('  model: {preset: deepseek-v3-tiny}\n  parallelism: {expert: 8}\n  training: {globalBatchSize: 8}\n'), '--fleet', '1x1x2x8', '--topology', topo, '-o', 'json');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).summary.traffic.map((t: { level: string }) => t.level), ['nvlink', 'leaf', 'core']);
});

test('moectl report draws the run SVGs into RUN_DIR/report and names a missing run directory', () => {
  const run = mkdtempSync(join(tmpdir(), 'moectl-run-'));
  const rows = [1, 2, 3].map((step) => JSON.stringify({ step, loss: 6 - step, mainLoss: 5 - step, expertLoad: [[3, 1, 0, 4]] }));
  writeFileSync(join(run, 'metrics.jsonl'), rows.join('\n') + '\n');
  const r = moectl('report', run);
  assert.equal(r.code, 0, r.err);
  const written = r.out.trim().split('\n');
  assert.ok(written.includes(join(run, 'report', 'loss.svg')), r.out);
  assert.ok(written.includes(join(run, 'report', 'experts.svg')), r.out);
  assert.match(readFileSync(join(run, 'report', 'loss.svg'), 'utf8'), /^<svg[\s\S]*Training loss/);
  const missing = moectl('report', join(run, 'nope'));
  assert.notEqual(missing.code, 0);
  assert.match(missing.err, /metrics\.jsonl not found/);
});

test('moectl report draws a GRPO run\'s curves from its {mode: "grpo"} rows (the last row of a replayed step) and its held-out reward, and no empty loss chart', () => {
  const run = mkdtempSync(join(tmpdir(), 'moectl-grpo-'));
  // metrics.jsonl as post/run-grpo.ts writes it; step 2 is logged twice (a resumed run replays it): the second counts.
  const row = (step: number, rewardMean: number, kl: number) => JSON.stringify({ mode: 'grpo', step, loss: -0.01, rewardMean, rewardStd: 0.1, kl, responseLength: 10 + step, signalFraction: 0.5, rewardErrors: step === 3 ? 2 : 0, clipFraction: 0, judgeCalls: 0, judgeFailures: 0, gradNorm: 1, lr: 1e-4, samples: 64, tokens: 1536, seconds: 1 });
  // Held-out rows (no rewardMean) at the start and the end: their own chart, not points of the step curves.
  const held = (step: number, heldOutReward: number) => JSON.stringify({ mode: 'grpo', step, heldOutReward, prompts: 64, errors: 0 });
  writeFileSync(join(run, 'metrics.jsonl'), [held(0, 0.1), row(1, 0.2, 0), row(2, 0.9, 0.5), row(2, 0.5, 0.01), row(3, 0.8, 0.02), held(3, 0.3)].join('\n') + '\n');
  const r = moectl('report', run);
  assert.equal(r.code, 0, r.err);
  const names = r.out.trim().split('\n').map((f) => f.slice(join(run, 'report').length + 1)).sort();
  assert.deepEqual(names, ['grpo-errors.svg', 'grpo-held-out.svg', 'grpo-kl.svg', 'grpo-length.svg', 'grpo-reward.svg', 'grpo-signal.svg']);
  /** Each polyline's points as [x, y] in SVG coordinates (y grows downwards). */
  const lines = (f: string) => [...readFileSync(join(run, 'report', f), 'utf8').matchAll(/<polyline[^>]* points="([^"]*)"/g)]
    .map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
  const reward = lines('grpo-reward.svg');
  assert.equal(reward.length, 3, 'mean, mean + std, mean - std');
  assert.deepEqual(reward.map((l) => l.length), [3, 3, 3]);
  // Rewards 0.2, 0.5, 0.8 (not the replaced 0.9): equal steps upwards, so equal decreasing y steps.
  const [y1, y2, y3] = reward[0].map((p) => p[1]);
  assert.ok(y1 > y2 && y2 > y3, JSON.stringify(reward[0]));
  assert.ok(Math.abs((y1 - y2) - (y2 - y3)) < 0.2, JSON.stringify(reward[0]));
  // The band: mean + std lies above the mean (smaller y) by the same offset at every step.
  reward[1].forEach((p, i) => assert.ok(p[1] < reward[0][i][1]));
  const kl = lines('grpo-kl.svg')[0].map((p) => p[1]);
  assert.ok(kl[0] > kl[1] && kl[1] > kl[2], `KL 0, 0.01, 0.02 rises: ${JSON.stringify(kl)}`);
  const errors = lines('grpo-errors.svg')[0].map((p) => p[1]);
  assert.ok(errors[0] === errors[1] && errors[2] < errors[1], `errors 0, 0, 2: ${JSON.stringify(errors)}`);
  const heldOut = lines('grpo-held-out.svg');
  assert.equal(heldOut.length, 1);
  assert.equal(heldOut[0].length, 2, 'steps 0 and 3');
  assert.ok(heldOut[0][0][1] > heldOut[0][1][1], `held-out 0.1 → 0.3 rises: ${JSON.stringify(heldOut[0])}`);
  assert.match(readFileSync(join(run, 'report', 'grpo-signal.svg'), 'utf8'), /fraction of groups with any signal/);
  assert.match(readFileSync(join(run, 'report', 'grpo-length.svg'), 'utf8'), /mean response length/);
});
