// The pod entrypoint in training.mode sft over 2 ranks (ZeRO-1 DP=2) with the plan document the operator mounts:
// chat JSONL data, the run's length from its epochs (capped by training.steps), the held-out assistant-token loss at
// the start and the end (rank 0, from the gathered weights), and an export whose tokenizer has the chat template's
// special tokens as added tokens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { microOverrides } from './train-fixture.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/parallel/main.js');

const chat = (i: number): string => JSON.stringify({ messages: [{ role: 'user', content: `q${i % 7}` }, { role: 'assistant', content: `a${i % 7}` }] });

describe('distributed entrypoint, training.mode sft', { skip }, () => {
  it('trains the epochs over the packed chat data, reports held-out loss before and after, exports the chat tokens', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-dist-sft-'));
    try {
      const train = path.join(tmp, 'train.jsonl'), held = path.join(tmp, 'held.jsonl');
      writeFileSync(train, Array.from({ length: 48 }, (_, i) => chat(i)).join('\n') + '\n');
      writeFileSync(held, Array.from({ length: 8 }, (_, i) => chat(i + 3)).join('\n') + '\n');
      const runDir = path.join(tmp, 'run');
      const plan = {
        job: { namespace: 'test', name: 'sft', attempt: 0 },
        plan: {
          model: { ...microOverrides, vocab_size: 260 },
          parallelism: { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 1, data: 2 },
          rankTable: { order: 'tp,ep,pp,dp', pp: [0, 0], ep: [0, 0], dp: [0, 1], tp: [0, 0] },
        },
        training: { mode: 'sft', sft: { epochs: 2, packing: true }, steps: 1000, globalBatchSize: 4, sequenceLength: 16, seed: 7, optimizer: { learningRate: 0.003, warmupSteps: 2 } },
        precision: { format: 'bf16' },
        data: { format: 'chat', uri: `file://${train}`, heldOutUri: `file://${held}` },
        checkpoint: { dir: runDir, intervalSteps: 0, keep: 2 },
      };
      const planFile = path.join(tmp, 'plan.json');
      writeFileSync(planFile, JSON.stringify(plan));
      const { results } = await launch({ script: main, worldSize: 2, killAfterMs: 180_000, env: { MOE_PLAN: planFile, MOE_DIST_TIMEOUT_MS: '30000' } });
      for (const r of results) assert.equal(r.code, 0, `rank ${r.rank}: ${r.stderr}`);
      const lines = results.find((r) => r.rank === 0)!.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      // Each conversation is BOS <User> q i <Assistant> a i EOS = 8 tokens: two fit a window of S+1 = 17, so 24
      // windows an epoch, 2 epochs at 4 windows a step: 12 steps (training.steps 1000 does not cap it).
      const data = lines.find((l) => l.msg === 'sft data');
      assert.deepEqual({ windows: data.windowsPerEpoch, epochSteps: data.epochSteps, steps: data.steps }, { windows: 24, epochSteps: 12, steps: 12 });
      assert.equal(lines.filter((l) => l.msg === 'step').length, 12);
      assert.equal(lines.find((l) => l.msg === 'done').step, 12);
      const heldOut = lines.filter((l) => l.msg === 'held-out loss');
      assert.deepEqual(heldOut.map((l) => l.step), [0, 12]);
      assert.ok(heldOut[1].heldOutLoss < heldOut[0].heldOutLoss, `held-out loss ${heldOut[0].heldOutLoss} → ${heldOut[1].heldOutLoss}`);
      const tok = JSON.parse(readFileSync(path.join(runDir, 'export', 'tokenizer.json'), 'utf8'));
      assert.deepEqual(tok.added_tokens.map((a: { id: number; content: string }) => [a.id, a.content]),
        [[256, '<｜begin▁of▁sentence｜>'], [257, '<｜end▁of▁sentence｜>'], [258, '<｜User｜>'], [259, '<｜Assistant｜>']]);
      const cfg = JSON.parse(readFileSync(path.join(runDir, 'export', 'config.json'), 'utf8'));
      assert.deepEqual([cfg.bos_token_id, cfg.eos_token_id], [256, 257]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
