// Prometheus metrics of one serving process (router or role pod). Each server gets its own registry so that tests and
// the benchmark can run several servers in one process; `role` is a default label on every series.
import client from 'prom-client';
import type { ServeEngine } from '../engine/types.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const ITL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Window of the tokens/s gauge. */
const RATE_WINDOW_MS = 10_000;

export class ServeMetrics {
  readonly registry = new client.Registry();
  readonly ttft: client.Histogram;
  readonly itl: client.Histogram;
  readonly e2e: client.Histogram;
  readonly promptTokens: client.Counter;
  readonly generationTokens: client.Counter;
  readonly requests: client.Counter<'endpoint' | 'code'>;
  private readonly recent: { at: number; n: number }[] = [];

  constructor(role: string, gauges: { queue: () => number; running: () => number }) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ role });
    this.ttft = new client.Histogram({ name: 'moe_serve_time_to_first_token_seconds', help: 'Time from the request\u2019s arrival to its first generated token', buckets: LATENCY_BUCKETS, registers });
    this.itl = new client.Histogram({ name: 'moe_serve_inter_token_latency_seconds', help: 'Time between consecutive generated tokens of one request', buckets: ITL_BUCKETS, registers });
    this.e2e = new client.Histogram({ name: 'moe_serve_e2e_latency_seconds', help: 'Time from the request\u2019s arrival to its last byte', buckets: LATENCY_BUCKETS, registers });
    this.promptTokens = new client.Counter({ name: 'moe_serve_prompt_tokens_total', help: 'Prompt tokens of requests served', registers });
    this.generationTokens = new client.Counter({ name: 'moe_serve_generation_tokens_total', help: 'Tokens generated', registers });
    this.requests = new client.Counter({ name: 'moe_serve_requests_total', help: 'Requests answered, by endpoint and HTTP status code', labelNames: ['endpoint', 'code'], registers });
    const self = this;
    new client.Gauge({ name: 'moe_serve_tokens_per_second', help: `Generated tokens per second over the last ${RATE_WINDOW_MS / 1000} s`, registers, collect() { this.set(self.tokensPerSecond()); } });
    new client.Gauge({ name: 'moe_serve_queue_depth', help: 'Requests waiting (role pods: for a batch slot; router: for a replica answer)', registers, collect() { this.set(gauges.queue()); } });
    new client.Gauge({ name: 'moe_serve_running', help: 'Requests running (role pods: sequences in the batch; router: in flight)', registers, collect() { this.set(gauges.running()); } });
  }

  /**
   * Role pods: the engine's own state, expert load and the placement. Routed tokens are one counter by default;
   * `perExpert` adds a layer × expert series each (about 15k at DeepSeek-V3's 58 MoE layers × 256 experts), so it is
   * an option for debugging and small models (MOE_SERVE_EXPERT_METRICS=per-expert), not the default.
   */
  static forEngine(role: string, engine: ServeEngine, opts: { perExpert?: boolean } = {}): ServeMetrics {
    const m = new ServeMetrics(role, { queue: () => engine.stats().waiting, running: () => engine.stats().running });
    const registers = [m.registry];
    new client.Gauge({ name: 'moe_serve_kv_tokens', help: 'Tokens held in KV caches', registers, collect() { this.set(engine.stats().kvTokens); } });
    new client.Gauge({ name: 'moe_serve_placement_version', help: 'Version of the expert placement in use', registers, collect() { this.set(engine.stats().placementVersion); } });
    new client.Gauge({ name: 'moe_serve_placement_balance', help: 'max/mean routed tokens per GPU over the last window under the current placement', registers, collect() { this.set(engine.stats().balance); } });
    // The engine keeps cumulative counts; a counter mirrors them at scrape time (reset + inc keeps one sample each).
    new client.Counter({
      name: 'moe_serve_expert_routed_tokens_total', help: 'Token-to-expert assignments routed since start, summed over MoE layers and routed experts', registers,
      collect() {
        this.reset();
        this.inc(engine.expertLoad().reduce((s, row) => row.reduce((t, v) => t + v, s), 0));
      },
    });
    if (engine.stats().speculative) {
      const spec = () => engine.stats().speculative!;
      const counter = (name: string, help: string, value: () => number) => new client.Counter({ name, help, registers, collect() { this.reset(); this.inc(value()); } });
      counter('moe_serve_spec_draft_tokens_total', 'Tokens the MTP module drafted (speculative decoding)', () => spec().drafted);
      counter('moe_serve_spec_accepted_tokens_total', 'Drafted tokens the main model accepted', () => spec().accepted);
      counter('moe_serve_spec_verify_steps_total', 'Sequence-steps that verified drafts (each emits accepted drafts + 1 tokens)', () => spec().steps);
      new client.Gauge({ name: 'moe_serve_spec_acceptance_rate', help: 'Accepted / drafted tokens since start', registers, collect() { const s = spec(); this.set(s.drafted > 0 ? s.accepted / s.drafted : 0); } });
      new client.Gauge({ name: 'moe_serve_spec_mean_accepted_length', help: 'Tokens emitted per verify step of a sequence since start (accepted drafts + 1)', registers, collect() { const s = spec(); this.set(s.steps > 0 ? (s.accepted + s.steps) / s.steps : 0); } });
    }
    if (opts.perExpert) {
      new client.Counter({
        name: 'moe_serve_expert_routed_tokens_by_expert_total', help: 'Tokens routed to each logical expert since start, by MoE layer and expert (MOE_SERVE_EXPERT_METRICS=per-expert)', labelNames: ['layer', 'expert'], registers,
        collect() {
          this.reset();
          engine.expertLoad().forEach((row, l) => row.forEach((v, e) => this.inc({ layer: String(l), expert: String(e) }, v)));
        },
      });
    }
    return m;
  }

  tokensGenerated(n: number): void {
    this.generationTokens.inc(n);
    const now = Date.now();
    // One entry per 100 ms keeps the window short at high token rates.
    const tail = this.recent[this.recent.length - 1];
    if (tail && now - tail.at < 100) tail.n += n;
    else this.recent.push({ at: now, n });
    while (this.recent.length && this.recent[0].at < now - RATE_WINDOW_MS) this.recent.shift();
  }

  private tokensPerSecond(): number {
    const now = Date.now();
    while (this.recent.length && this.recent[0].at < now - RATE_WINDOW_MS) this.recent.shift();
    return this.recent.reduce((s, r) => s + r.n, 0) / (RATE_WINDOW_MS / 1000);
  }
}

/** MOE_SERVE_EXPERT_METRICS: `aggregate` (default, one routed-tokens counter) or `per-expert` (a series per layer × expert). */
export function expertMetricsOption(value: string | undefined): { perExpert: boolean } {
  if (value === undefined || value === '' || value === 'aggregate') return { perExpert: false };
  if (value === 'per-expert') return { perExpert: true };
  throw new Error(`MOE_SERVE_EXPERT_METRICS must be "aggregate" (the default) or "per-expert", got ${JSON.stringify(value)}`);
}

/** Latency bookkeeping of one request: TTFT on the first token, ITL between tokens, e2e when it completes (failed and refused requests count in moe_serve_requests_total only). */
export class RequestTimer {
  private readonly t0 = performance.now();
  private last = -1;

  constructor(private readonly m: ServeMetrics) {}

  token(n = 1): void {
    const now = performance.now();
    if (this.last < 0) this.m.ttft.observe((now - this.t0) / 1000);
    else this.m.itl.observe((now - this.last) / 1000);
    this.last = now;
    this.m.tokensGenerated(n);
  }

  done(): void {
    this.m.e2e.observe((performance.now() - this.t0) / 1000);
  }
}
