// /metrics of the operator and of the serving pods pass the rules `promtool check metrics` applies (test/util/promlint.ts),
// and the serving pods' expert series stay bounded at DeepSeek-V3's size unless per-expert detail is asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mtjMetrics } from '../../../operator/controllers/mtj/metrics.js';
import { OperatorMetrics } from '../../../operator/kube/metrics.js';
import type { ServeEngine } from '../../../runtime/src/serve/engine/types.js';
import { ServeMetrics, expertMetricsOption } from '../../../runtime/src/serve/http/metrics.js';
import { lintExposition, parseExposition, seriesCount } from '../../util/promlint.js';

test('the linter catches what promtool refuses: a gauge named _total, a counter without it, no help', () => {
  const bad = ['# HELP a_total x', '# TYPE a_total gauge', 'a_total 1', '# HELP b x', '# TYPE b counter', 'b 2', '# TYPE c gauge', 'c 3'].join('\n');
  assert.deepEqual(lintExposition(bad), ['a_total: non-counter metrics should not have "_total" suffix', 'b: counter metrics should have "_total" suffix', 'c: no help text']);
  assert.throws(() => parseExposition('x{a="1" 2'), /cannot parse sample|bad label/);
});

test("the operator's /metrics, default process and Node.js collectors included, passes promtool's rules", async () => {
  const m = new OperatorMetrics();
  m.reconciles.inc({ kind: 'MoETrainingJob', outcome: 'success' });
  m.reconcileSeconds.observe({ kind: 'MoETrainingJob' }, 0.02);
  // The MoETrainingJob controller's families (mtj/metrics.ts) on the same registry.
  const mtj = m.part(mtjMetrics);
  mtj.gangReleaseSeconds.observe(1.5);
  mtj.checkpointAge.set({ namespace: 'ns', job: 'a' }, 12);
  mtj.jobsByPhase.set({ phase: 'Running' }, 1);
  mtj.restarts.inc({ reason: 'PodFailed' });
  const text = await m.registry.metrics();
  assert.deepEqual(lintExposition(text), []);
  // The per-type families that the removed totals summed are still there.
  assert.ok(parseExposition(text).some((f) => f.name === 'nodejs_active_handles' && f.type === 'gauge'));
  assert.ok(parseExposition(text).some((f) => f.name === 'process_cpu_seconds_total' && f.type === 'counter'));
});

// DeepSeek-V3: 61 layers, the first 3 dense, so 58 MoE layers × 256 routed experts.
const engine = (layers = 58, experts = 256) =>
  ({
    stats: () => ({ waiting: 0, running: 0, kvTokens: 0, placementVersion: 1, balance: 1.1 }),
    expertLoad: () => Array.from({ length: layers }, (_, l) => Array.from({ length: experts }, (_, e) => l + e)),
  }) as unknown as ServeEngine;

test('serving pods: routed tokens are a counter, one series by default at DeepSeek-V3 size, and the exposition passes', async () => {
  const m = ServeMetrics.forEngine('decode', engine());
  const text = await m.registry.metrics();
  assert.deepEqual(lintExposition(text), []);
  const f = parseExposition(text).find((x) => x.name === 'moe_serve_expert_routed_tokens_total');
  assert.equal(f?.type, 'counter');
  assert.equal(f?.samples.length, 1);
  // Σ_l Σ_e (l + e) over 58 × 256.
  assert.equal(Number(f?.samples[0]?.value), 256 * (57 * 58) / 2 + 58 * (255 * 256) / 2);
  const total = parseExposition(text).reduce((s, x) => s + x.samples.length, 0);
  assert.ok(total < 200, `a decode pod exposes ${total} series`);
  const router = new ServeMetrics('router', { queue: () => 0, running: () => 0 });
  assert.deepEqual(lintExposition(await router.registry.metrics()), []);
});

test('per-expert detail is an option: a counter per layer × expert, still promtool-clean', async () => {
  const m = ServeMetrics.forEngine('decode', engine(), expertMetricsOption('per-expert'));
  const text = await m.registry.metrics();
  assert.deepEqual(lintExposition(text), []);
  assert.equal(seriesCount(text, 'moe_serve_expert_routed_tokens_by_expert_total'), 58 * 256);
  // Scraped twice: the mirrored counters do not double.
  const again = await m.registry.metrics();
  assert.match(again, /moe_serve_expert_routed_tokens_by_expert_total\{layer="1",expert="2",role="decode"\} 3\n/);
});

test('MOE_SERVE_EXPERT_METRICS accepts aggregate or per-expert and names itself otherwise', () => {
  assert.deepEqual(expertMetricsOption(undefined), { perExpert: false });
  assert.deepEqual(expertMetricsOption('aggregate'), { perExpert: false });
  assert.deepEqual(expertMetricsOption('per-expert'), { perExpert: true });
  assert.throws(() => expertMetricsOption('all'), /MOE_SERVE_EXPERT_METRICS must be "aggregate" \(the default\) or "per-expert", got "all"/);
});

test('a drafting decode pod exposes its speculative-decoding counters and the acceptance gauges, promtool-clean', async () => {
  const spec = { drafted: 200, accepted: 170, steps: 200 };
  const e = { ...engine(2, 4), stats: () => ({ waiting: 0, running: 0, kvTokens: 0, placementVersion: 1, balance: 1, speculative: spec }) } as unknown as ServeEngine;
  const text = await ServeMetrics.forEngine('decode', e).registry.metrics();
  assert.deepEqual(lintExposition(text), []);
  const value = (name: string) => Number(parseExposition(text).find((x) => x.name === name)?.samples[0]?.value);
  assert.equal(value('moe_serve_spec_draft_tokens_total'), 200);
  assert.equal(value('moe_serve_spec_accepted_tokens_total'), 170);
  assert.equal(value('moe_serve_spec_verify_steps_total'), 200);
  assert.equal(value('moe_serve_spec_acceptance_rate'), 0.85);
  assert.equal(value('moe_serve_spec_mean_accepted_length'), 1.85);
  // Without drafting none of them.
  assert.doesNotMatch(await ServeMetrics.forEngine('decode', engine(2, 4)).registry.metrics(), /moe_serve_spec_/);
});
