// Issue 19 item 10: numbers the planner and runtime cannot represent are refused by the API server itself (CRD
// maximum / CEL), before any operator sees them. Before the fix each of these was accepted: 2^31 routed experts
// exhausted the operator's heap, 2^31-1 layers blocked its event loop, hidden_size 1e15 was planned and Running, and a
// 30-day backoff overflowed the 32-bit timer (the operator's timers are clamped too: test/unit/kube/timers.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { installCrds } from './harness.js';

let c: LocalCluster;
const NS = 'bounds';

const DSV3 = { vocab_size: 129280, hidden_size: 7168, num_hidden_layers: 61, num_attention_heads: 128, n_routed_experts: 256, num_experts_per_tok: 8, moe_intermediate_size: 2048, n_group: 8, topk_group: 4 };

function job(name: string, patch: { config?: Record<string, number>; failurePolicy?: unknown; parallelism?: unknown }): string {
  return JSON.stringify({
    apiVersion: 'moe.io/v1alpha1',
    kind: 'MoETrainingJob',
    metadata: { name, namespace: NS },
    spec: {
      model: { config: { ...DSV3, ...patch.config } },
      parallelism: patch.parallelism ?? { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 8, gpusPerPod: 8 },
      ...(patch.failurePolicy ? { failurePolicy: patch.failurePolicy } : {}),
      template: { spec: { containers: [{ name: 'trainer', image: 'moe-runtime:test' }] } },
    },
  });
}

/** Server-side create (dry run): resolves '' when accepted, else the API server's refusal. */
async function refusal(manifest: string): Promise<string> {
  try {
    await c.kubectl(['create', '--dry-run=server', '-f', '-'], manifest);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

before(async () => {
  c = await startCluster({ fleet: { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await c.kubectl(['create', 'namespace', NS]);
});

after(async () => {
  await c?.stop();
});

const cases: Array<[string, Parameters<typeof job>[1], RegExp]> = [
  ['n_routed_experts: 2147483648', { config: { n_routed_experts: 2147483648 } }, /spec\.model\.config\.n_routed_experts: Invalid value: 2147483648: spec\.model\.config\.n_routed_experts in body should be less than or equal to 16384/],
  ['num_hidden_layers: 2147483647', { config: { num_hidden_layers: 2147483647 } }, /spec\.model\.config\.num_hidden_layers: Invalid value: 2147483647: .*less than or equal to 1024/],
  ['hidden_size: 1e15', { config: { hidden_size: 1e15 } }, /spec\.model\.config\.hidden_size: Invalid value: 1000000000000000: .*less than or equal to 65536/],
  ['a 30-day failurePolicy backoff', { failurePolicy: { backoff: { initialSeconds: 2592000, maxSeconds: 2592000 } } }, /spec\.failurePolicy\.backoff\.initialSeconds: Invalid value: 2592000: .*less than or equal to 86400/],
  ['a world size of 2^42 GPUs', { parallelism: { pipeline: { stages: 256, schedule: '1F1B', microBatches: 1 }, expert: 4096, data: 65536, tensor: 64, gpusPerPod: 64 } }, /world size .* must be at most 131072 GPUs/],
];
for (const [what, patch, want] of cases) {
  test(`the API server refuses a MoETrainingJob with ${what}, naming the field and the bound`, async () => {
    const msg = await refusal(job('j', patch));
    assert.match(msg, want);
  });
}

test('a DeepSeek-V3-sized config inside the bounds is accepted', async () => {
  assert.equal(await refusal(job('ok', {})), '');
});
