// Expert parallelism across the pods of one serving replica (WORLD_SIZE > 1, one EP rank per pod). The leader
// (rank 0, the only pod that takes requests) runs attention, the dense layers and the router for every sequence;
// at each MoE layer it sends every routed row to the rank hosting the physical slot the placement chose for it
// (rank = floor(slot / slotsPerGpu)), computes its own rows meanwhile, and gathers the outputs back; the combine
// stays on the leader. Followers run serveExpertShard(): they build the routed experts of the slots they host and
// answer row batches until the leader says stop.
// Wire protocol, point-to-point on the replica's process group, leader → follower in program order:
//   control  Int32[4] {op, moe layer, rows, payload bytes}      tag 1
//   rows     Int32[rows] logical expert ids, then Float32[rows·d] tag 2   (op MOE)
//   JSON     the placement {version, gpus, slotsPerGpu, phy2log}  tag 2   (op PLACEMENT)
//   result   Float32[rows·d], follower → leader                   tag 3
// The leader sends NOOP controls while idle so a follower's receive never times out on a quiet server.
// Rows travel in float32 so a sequence's tokens do not depend on which pod ran its experts.
import type { ProcessGroup } from '../../comm/process-group.js';
import { isMoeLayer, type RuntimeModelConfig } from '../../model/config.js';
import { Experts } from './experts.js';
import type { GemmPrecision } from './linear.js';
import type { MoeCall } from './inference-model.js';
import type { ResolvedPlacement } from './expert-slots.js';
import type { ModelWeights } from './weights.js';

const OP_NOOP = 0;
const OP_MOE = 1;
const OP_PLACEMENT = 2;
const OP_STOP = 3;
const TAG_CTRL = 1;
const TAG_DATA = 2;
const TAG_RESULT = 3;

/**
 * Physical slots one process hosts. The placement counts GPUs (the operator's EP size = pods × GPUs per pod); this
 * runtime runs one process per pod, so process r hosts GPUs [r·G/size, (r+1)·G/size) and all their slots.
 */
export function slotsPerRank(gpus: number, slotsPerGpu: number, size: number): number {
  if (gpus % size !== 0) throw new Error(`expert parallelism: the placement's ${gpus} GPUs do not split evenly over the replica's ${size} pods`);
  return (gpus / size) * slotsPerGpu;
}

export class ExpertParallelLeader {
  private chain: Promise<unknown> = Promise.resolve();
  /** The placement the followers have (by identity: each swap is a new object, whatever its version number). */
  private sent?: ResolvedPlacement;
  private busy = 0;
  private stopped = false;
  private readonly ticker: NodeJS.Timeout;
  /** MoE layers run across the pods (benchmarks: bytes per forward). */
  layersRun = 0;

  constructor(readonly group: ProcessGroup, tickMs = 5_000) {
    if (group.rank !== 0) throw new Error(`expert parallelism: the leader must be rank 0 of its group, this is rank ${group.rank}`);
    this.ticker = setInterval(() => {
      if (this.busy === 0 && !this.stopped) void this.serial(() => this.control(OP_NOOP, 0, 0, 0)).catch(() => {});
    }, tickMs);
    this.ticker.unref();
  }

  get size(): number {
    return this.group.size;
  }

  /** Runs `f` after everything sent before it (one conversation at a time on the wire). */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async control(op: number, layer: number, rows: number, bytes: number, only?: number): Promise<void> {
    const msg = Int32Array.of(op, layer, rows, bytes);
    const to = only !== undefined ? [only] : Array.from({ length: this.size - 1 }, (_, i) => i + 1);
    await Promise.all(to.map((r) => this.group.send(msg, r, TAG_CTRL)));
  }

  /** Ships the placement to every follower if it changed since the last one shipped. */
  private async ensurePlacement(p: ResolvedPlacement, raw: () => string): Promise<void> {
    if (p === this.sent) return;
    const json = Buffer.from(raw(), 'utf8');
    for (let r = 1; r < this.size; r++) {
      await this.control(OP_PLACEMENT, 0, 0, json.length, r);
      await this.group.send(json, r, TAG_DATA);
    }
    this.sent = p;
  }

  /** The routed experts of one MoE layer over the EP ranks; `local` computes the leader's own rows. */
  run(call: MoeCall, p: ResolvedPlacement, raw: () => string): Promise<Float32Array> {
    this.busy++;
    this.layersRun++;
    return this.serial(async () => {
      await this.ensurePlacement(p, raw);
      const { plan, moe } = call;
      const rows = plan.pairOf.length;
      if (rows === 0) return new Float32Array(0);
      const d = plan.xs.length / rows;
      const E = plan.offsets.length - 1;
      const rankOf = new Int32Array(rows);
      const count = new Int32Array(this.size);
      const perRank = slotsPerRank(p.gpus, p.slotsPerGpu, this.size);
      for (let i = 0; i < rows; i++) {
        const r = Math.floor(plan.slotOfRow[i] / perRank);
        if (r >= this.size) throw new Error(`expert parallelism: slot ${plan.slotOfRow[i]} is on EP rank ${r}, but the replica has ${this.size} EP ranks`);
        rankOf[i] = r;
        count[r]++;
      }
      const ys = new Float32Array(rows * d);
      const pending: Promise<void>[] = [];
      const byRank: Int32Array[] = [];
      for (let r = 1; r < this.size; r++) {
        const n = count[r];
        const mine = new Int32Array(n);
        let k = 0;
        for (let i = 0; i < rows; i++) if (rankOf[i] === r) mine[k++] = i;
        byRank[r] = mine;
        if (n === 0) continue;
        const payload = new Uint8Array(4 * n + 4 * n * d);
        const ids = new Int32Array(payload.buffer, 0, n);
        const xs = new Float32Array(payload.buffer, 4 * n, n * d);
        for (let j = 0; j < n; j++) {
          ids[j] = plan.expertOfRow[mine[j]];
          xs.set(plan.xs.subarray(mine[j] * d, mine[j] * d + d), j * d);
        }
        const out = new Float32Array(n * d);
        pending.push((async () => {
          const got = this.group.recv(out, r, TAG_RESULT);
          await this.control(OP_MOE, call.layer, n, payload.length, r);
          await this.group.send(payload, r, TAG_DATA);
          await got;
          for (let j = 0; j < n; j++) ys.set(out.subarray(j * d, j * d + d), mine[j] * d);
        })());
      }
      // The leader's own rows, grouped by expert like the whole set.
      const own: number[] = [];
      for (let i = 0; i < rows; i++) if (rankOf[i] === 0) own.push(i);
      if (own.length > 0) {
        const offsets = new Int32Array(E + 1);
        for (const i of own) offsets[plan.expertOfRow[i] + 1]++;
        for (let e = 0; e < E; e++) offsets[e + 1] += offsets[e];
        const xs = new Float32Array(own.length * d);
        own.forEach((i, j) => xs.set(plan.xs.subarray(i * d, i * d + d), j * d));
        const out = moe.experts.forward(xs, offsets);
        own.forEach((i, j) => ys.set(out.subarray(j * d, j * d + d), i * d));
      }
      await Promise.all(pending);
      return ys;
    }).finally(() => this.busy--);
  }

  /** Tells the followers to leave their loops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    await this.serial(() => this.control(OP_STOP, 0, 0, 0));
  }
}

export interface ShardStats {
  /** Rows this rank computed, per MoE layer. */
  rows: number[];
  placementVersions: number[];
}

/**
 * A follower rank's loop: builds the routed experts its slots host (per MoE layer, rebuilt when a new placement
 * arrives; replicas on one rank share one copy) from `weights`, computes the row batches the leader sends, returns
 * on stop. The weights map stays whole so a new placement can host other experts.
 */
export async function serveExpertShard(group: ProcessGroup, c: RuntimeModelConfig, weights: ModelWeights, precision: GemmPrecision): Promise<ShardStats> {
  if (group.rank === 0) throw new Error('serveExpertShard runs on the follower ranks (1..); rank 0 leads');
  const d = c.hidden_size;
  const moeLayers: number[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) if (isMoeLayer(c, l)) moeLayers.push(l);
  const stats: ShardStats = { rows: moeLayers.map(() => 0), placementVersions: [] };
  let experts: Experts[] = [];
  let local: Int32Array[] = [];
  const ctrl = new Int32Array(4);
  for (;;) {
    await group.recv(ctrl, 0, TAG_CTRL);
    const [op, layer, n, bytes] = ctrl;
    if (op === OP_STOP) return stats;
    if (op === OP_NOOP) continue;
    if (op === OP_PLACEMENT) {
      const buf = new Uint8Array(bytes);
      await group.recv(buf, 0, TAG_DATA);
      const p = JSON.parse(Buffer.from(buf).toString('utf8')) as { version: number; gpus: number; slotsPerGpu: number; phy2log: number[][] };
      const S = slotsPerRank(p.gpus, p.slotsPerGpu, group.size);
      experts = moeLayers.map((l, m) => {
        const hosted = [...new Set(p.phy2log[m].slice(group.rank * S, (group.rank + 1) * S))].sort((a, b) => a - b);
        return new Experts(weights, `model.layers.${l}.mlp`, hosted, d, c.moe_intermediate_size, precision, 'expert shard');
      });
      // logical expert → local index (-1: not hosted here).
      local = experts.map((x) => {
        const m = new Int32Array(c.n_routed_experts).fill(-1);
        x.ids.forEach((e, i) => (m[e] = i));
        return m;
      });
      stats.placementVersions.push(p.version);
      continue;
    }
    if (op !== OP_MOE) throw new Error(`expert shard rank ${group.rank}: unknown control op ${op}`);
    if (!experts[layer]) throw new Error(`expert shard rank ${group.rank}: rows for MoE layer ${layer} before any placement`);
    if (bytes !== 4 * n + 4 * n * d) throw new Error(`expert shard rank ${group.rank}: ${bytes} payload bytes for ${n} rows of width ${d}`);
    const payload = new Uint8Array(bytes);
    await group.recv(payload, 0, TAG_DATA);
    const ids = new Int32Array(payload.buffer, 0, n);
    const xs = new Float32Array(payload.buffer, 4 * n, n * d);
    const ex = experts[layer];
    const offsets = new Int32Array(ex.ids.length + 1);
    for (let j = 0; j < n; j++) {
      const li = local[layer][ids[j]];
      if (li < 0) throw new Error(`expert shard rank ${group.rank}: got rows for expert ${ids[j]} of MoE layer ${layer}, which it does not host`);
      offsets[li + 1]++;
    }
    for (let i = 0; i < ex.ids.length; i++) offsets[i + 1] += offsets[i];
    const out = ex.forward(Float32Array.from(xs), offsets);
    stats.rows[layer] += n;
    await group.send(out, 0, TAG_RESULT);
  }
}
