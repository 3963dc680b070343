// One agreed start step for every rank (issue 19 item 11) and the resume variables the operator sets (issue 13 §1),
// through the pod entrypoint (runtime/src/parallel/main.ts) over 2 local ranks (ZeRO-1 DP=2).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { microOverrides } from './train-fixture.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/parallel/main.js');
const shard = (step: number, rank: number) => path.join('checkpoints', `step-${String(step).padStart(8, '0')}`, `rank-${String(rank).padStart(5, '0')}.safetensors`);

const planDoc = (runDir: string) => ({
  job: { namespace: 'test', name: 'dp2', attempt: 0 },
  plan: { model: microOverrides, parallelism: { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 1, data: 2 } },
  training: { steps: 8, globalBatchSize: 4, sequenceLength: 8, seed: 7 },
  precision: { format: 'e4m3' },
  data: { format: 'synthetic' },
  checkpoint: { dir: runDir, intervalSteps: 2, keep: 10 },
});

interface Run { codes: (number | null)[]; lines: Record<string, unknown>[]; stderr: string }

describe('distributed start: one agreed step, and the operator\'s resume variables', { skip }, () => {
  let tmp: string;
  let expected: Map<number, number>;
  const job = async (runDir: string, env: Record<string, string> = {}): Promise<Run> => {
    const planFile = `${runDir}-plan.json`;
    writeFileSync(planFile, JSON.stringify(planDoc(runDir)));
    const { results } = await launch({
      script: main, worldSize: 2, killAfterMs: 90_000,
      env: { MOE_PLAN: planFile, MOE_DIST_TIMEOUT_MS: '20000', MOE_DIST_STALL_MS: '20000', MOE_DIST_GRACE_MS: '1000', ...env },
    });
    const r0 = results.find((r) => r.rank === 0)!;
    return {
      codes: results.sort((a, b) => a.rank - b.rank).map((r) => r.code),
      lines: r0.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
      stderr: results.map((r) => r.stderr).join('\n'),
    };
  };
  const losses = (r: Run) => new Map(r.lines.filter((l) => l.msg === 'step').map((l) => [l.step as number, l.loss as number]));
  const startLine = (r: Run) => r.lines.find((l) => l.msg === 'resumed' || l.msg === 'started' || l.msg === 'initialised');
  /** A run folder holding the uninterrupted run's checkpoints 2, 4, 6 (as if it had stopped after step 6). */
  const stoppedAt6 = (name: string): string => {
    const dir = path.join(tmp, name);
    cpSync(path.join(tmp, 'full'), dir, { recursive: true });
    rmSync(path.join(dir, 'checkpoints', 'step-00000008'), { recursive: true });
    rmSync(path.join(dir, 'export'), { recursive: true, force: true });
    return dir;
  };
  const corrupt = (file: string) => {
    const b = readFileSync(file);
    b[b.length - 1] ^= 0xff;
    writeFileSync(file, b);
  };
  const assertResumedLike = (r: Run, at: number) => {
    assert.deepEqual(r.codes, [0, 0], r.stderr);
    assert.equal(startLine(r)?.msg, 'resumed', JSON.stringify(startLine(r)));
    assert.equal(startLine(r)?.step, at);
    const got = losses(r);
    assert.deepEqual([...got.keys()], Array.from({ length: 8 - at }, (_, i) => at + 1 + i));
    for (const [s, l] of got) assert.equal(l, expected.get(s), `step ${s} after resuming at ${at}`);
  };

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-resume-'));
    const full = await job(path.join(tmp, 'full'));
    assert.deepEqual(full.codes, [0, 0], full.stderr);
    expected = losses(full);
    assert.equal(expected.size, 8);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('only rank 1\'s shard of step 6 is corrupt: both ranks resume at step 4 and match the uninterrupted losses', async () => {
    const dir = stoppedAt6('corrupt-one');
    corrupt(path.join(dir, shard(6, 1)));
    const r = await job(dir);
    assertResumedLike(r, 4);
    const warn = r.lines.find((l) => l.level === 'warn' && String(l.msg).includes('using step 4'));
    assert.match(JSON.stringify(warn?.reasons), /rank 1: step 6 .*rank-00001\.safetensors \(rank 1\) fails its sha256 check/);
    const m = JSON.parse(readFileSync(path.join(dir, 'checkpoints', 'step-00000008', 'manifest.json'), 'utf8'));
    assert.deepEqual(m.files.map((f: { name: string }) => f.name), ['rank-00000.safetensors', 'rank-00001.safetensors']);
  });

  it('MOE_RESUME_STEP from the operator is the step, even when a newer one exists', async () => {
    assertResumedLike(await job(stoppedAt6('operator-step'), { MOE_RESUME_STEP: '4' }), 4);
  });

  it('MOE_RESUME_URI (a recorded step folder) resumes there', async () => {
    const src = stoppedAt6('src-uri');
    assertResumedLike(await job(path.join(tmp, 'fresh-uri'), { MOE_RESUME_URI: `file://${path.join(src, 'checkpoints', 'step-00000004')}`, MOE_RESUME_STEP: '4' }), 4);
  });

  it('resumeFrom <uri> resumes another run folder\'s newest checkpoint; resumeFrom none starts fresh beside checkpoints', async () => {
    const src = stoppedAt6('src-from');
    assertResumedLike(await job(path.join(tmp, 'fresh-from'), { MOE_RESUME_FROM: `file://${src}` }), 6);
    const noneDir = stoppedAt6('none');
    const none = await job(noneDir, { MOE_RESUME_FROM: 'none' });
    assert.deepEqual(none.codes, [0, 0], none.stderr);
    assert.equal(startLine(none)?.msg, 'started');
    assert.deepEqual([...losses(none)], [...expected]);
    // The old checkpoints were moved aside, not mixed with (or pruned in favour of) the new run's.
    const aside = readdirSync(noneDir).filter((n) => n.startsWith('checkpoints.replaced-'));
    assert.equal(aside.length, 1);
    assert.deepEqual(readdirSync(path.join(noneDir, aside[0]!)).sort(), ['step-00000002', 'step-00000004', 'step-00000006']);
  });

  it('a committed manifest listing a file that does not exist stops every rank with exit 1, naming the file', async () => {
    const dir = stoppedAt6('missing');
    rmSync(path.join(dir, shard(6, 1)));
    const r = await job(dir);
    assert.deepEqual(r.codes, [1, 1], r.stderr);
    assert.match(r.stderr, /manifest\.json lists rank-00001\.safetensors \(rank 1\), which does not exist/);
  });

  it('every checkpoint corrupt: exit 1 with every rank\'s reason instead of restarting from step 1', async () => {
    const dir = stoppedAt6('all-corrupt');
    for (const s of [2, 4, 6]) corrupt(path.join(dir, shard(s, s === 4 ? 0 : 1)));
    const r = await job(dir);
    assert.deepEqual(r.codes, [1, 1], r.stderr);
    assert.match(r.stderr, /no checkpoint that every rank can load: .*step 6.*step 4.*step 2/);
    assert.equal(losses(r).size, 0, 'no step ran');
  });
});
