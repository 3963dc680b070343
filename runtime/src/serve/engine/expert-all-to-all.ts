// DeepSeek's decode layout across the pods of one replica (../README.md "Decode as DeepSeek deploys it"): every pod runs
// whole steps (attention, router, combine, head) for its own sequences, and the routed experts of each MoE layer are
// one all-to-all over the replica's process group. All pods step in lockstep: a step starts with `agree` (one small
// header exchange: how many forwards — "rounds" — each pod runs, the placement the leader wants adopted, who asks for
// the load sum, who is closing or still has sequences); every pod then runs max(rounds) rounds of every MoE layer, a
// pod without rows (or with fewer forwards) joining with zero rows. Per MoE layer:
//   1. alltoallv Int32: rows this pod sends to each rank (its rows' slots: rank = floor(slot / slotsPerRank));
//   2. alltoallv rows: per destination, the logical expert ids (Int32[n]) then the rows (Float32[n·d]), in plan order
//      (grouped by expert, tokens ascending);
//   3. the host runs its experts on what it received (grouped by expert, one call), then alltoallv returns each
//      source's outputs in the order they came; the source combines in expert order (Moe.finish), so a sequence's
//      tokens do not depend on which pod ran its experts (float32 rows, per-row kernels).
// A failure inside an exchange — a collective (a pod of the replica is gone) or a broken invariant (rows for an expert
// this pod does not host), after which the pods are out of step — is sticky (`broken`) and the engine fails.
import type { ProcessGroup } from '../../comm/process-group.js';
import type { Moe } from './moe.js';
import type { MoeCall } from './inference-model.js';
import type { ResolvedPlacement } from './expert-slots.js';
import { slotsPerRank } from './expert-parallel.js';

/** What one pod brings to a step boundary. */
export interface StepOffer {
  /** Forwards this pod runs this step. */
  rounds: number;
  /**
   * This pod is closing: it takes nothing more and joins with zero rows. The leader closing ends the replica once no
   * pod has sequences left (every request passes through the leader, so none arrive after it closes).
   */
  closing: boolean;
  /** This pod holds sequences (running, waiting, or admitted this step). */
  busy: boolean;
  /** Leader only: a placement (the operator's JSON) every pod adopts at this boundary. */
  placement?: string;
  /** Ask for the replica's load sum at this boundary. */
  wantLoad: boolean;
}

export interface StepAgreement {
  /** Rounds every pod runs this step (the most any pod asked for). */
  rounds: number;
  /** The leader has closed and no pod holds a sequence: every pod leaves the lockstep after this step. */
  ended: boolean;
  /** The placement the leader sent at this boundary. */
  placement?: string;
  /** Σ over pods of their `load()` vectors, when some pod asked. */
  load?: Float64Array;
}

const HEADER = 5;

export class ExpertAllToAll {
  /** The first collective failure; every later call rethrows it. */
  broken?: Error;
  private moeAt?: (m: number) => Moe;
  private moeLayers = 0;
  private width = 0;
  private rounds = 0;
  private roundsDone = 0;
  /** MoE layers of the current round already exchanged. */
  private layer = 0;
  private hostsFor?: { p: ResolvedPlacement; hosts: Uint8Array[] };
  /** Step boundaries that agreed on at least one round, and MoE layers exchanged (benchmarks: bytes per forward). */
  steps = 0;
  layersRun = 0;
  /**
   * Wall milliseconds (benchmarks): the step headers' exchange; the MoE layers' exchanges in all, and of that the
   * collectives awaited and the experts run (the rest is packing rows in JavaScript).
   */
  readonly time = { header: 0, exchange: 0, collectives: 0, experts: 0 };

  /** Padded dispatch: each pod's rows in the current round, learnt at its first MoE layer. */
  private capOf: number[] = [];

  /**
   * dispatch `exact` (default): per MoE layer counts, rows, outputs (3 collectives), rows sent exactly. `padded`:
   * after a round's first MoE layer the counts travel inside the rows' segments, each sized for all of the sender's
   * rows (DeepEP's low-latency decode does likewise): 2 collectives per layer, up to `pods`× the dispatch bytes.
   */
  constructor(readonly group: ProcessGroup, readonly dispatch: 'exact' | 'padded' = 'exact') {
    if (dispatch !== 'exact' && dispatch !== 'padded') throw new Error(`expert all-to-all: dispatch must be exact or padded, got ${JSON.stringify(dispatch)}`);
  }

  get size(): number {
    return this.group.size;
  }

  get rank(): number {
    return this.group.rank;
  }

  /** The engine's MoE layers (a pod with no rows still computes what others route to it). */
  bind(moeLayers: number, width: number, moeAt: (m: number) => Moe): void {
    this.moeLayers = moeLayers;
    this.width = width;
    this.moeAt = moeAt;
  }

  private async guard<T>(f: () => Promise<T>): Promise<T> {
    if (this.broken) throw this.broken;
    try {
      return await f();
    } catch (e) {
      this.broken ??= new Error(`expert all-to-all: a pod of the replica failed: ${(e as Error).message}`);
      throw this.broken;
    }
  }

  /** The step boundary: every pod calls it once per step with its offer; `load` is this pod's counters. */
  agree(o: StepOffer, load: () => Float64Array): Promise<StepAgreement> {
    return this.guard(async () => {
      const n = this.size;
      const json = o.placement !== undefined && this.rank === 0 ? Buffer.from(o.placement, 'utf8') : undefined;
      const mine = Int32Array.of(o.rounds, o.closing ? 1 : 0, json ? json.length : 0, o.wantLoad ? 1 : 0, o.busy ? 1 : 0);
      // Every pod's header to every pod: an alltoallv (direct pairs), cheaper here than Gloo's ring allgather.
      const all = new Int32Array(n * HEADER);
      const each = new Int32Array(n * HEADER);
      for (let r = 0; r < n; r++) each.set(mine, r * HEADER);
      const bytes4 = new Array<number>(n).fill(4 * HEADER);
      const tc = performance.now();
      await this.group.alltoallv(each, bytes4, all, bytes4);
      this.time.header += performance.now() - tc;
      let rounds = 0;
      let busy = false;
      let wantLoad = false;
      for (let r = 0; r < n; r++) {
        rounds = Math.max(rounds, all[r * HEADER]);
        wantLoad ||= all[r * HEADER + 3] === 1;
        busy ||= all[r * HEADER + 4] === 1;
      }
      const out: StepAgreement = { rounds, ended: all[1] === 1 && !busy && rounds === 0 };
      const bytes = all[2];
      if (bytes > 0) {
        // The leader's placement to every pod (itself included): one alltoallv with only rank 0 sending.
        const input = json ?? new Uint8Array(0);
        const send = Array.from({ length: n }, () => (this.rank === 0 ? bytes : 0));
        const recv = Array.from({ length: n }, (_, r) => (r === 0 ? bytes : 0));
        const got = new Uint8Array(bytes);
        const buf = this.rank === 0 ? new Uint8Array(bytes * n) : input;
        if (this.rank === 0) for (let r = 0; r < n; r++) buf.set(input, r * bytes);
        await this.group.alltoallv(buf, send, got, recv);
        out.placement = Buffer.from(got).toString('utf8');
      }
      if (wantLoad) {
        // Float64 so cumulative counts stay exact (a float32 allreduce would round past 2^24).
        const v = load();
        const every = new Float64Array(v.length * n);
        await this.group.allgather(v, every);
        const sum = new Float64Array(v.length);
        for (let r = 0; r < n; r++) for (let i = 0; i < v.length; i++) sum[i] += every[r * v.length + i];
        out.load = sum;
      }
      this.rounds = rounds;
      this.roundsDone = 0;
      this.layer = 0;
      if (rounds > 0) this.steps++;
      return out;
    });
  }

  /** Which logical experts this rank hosts under `p`, per MoE layer. */
  private hosts(p: ResolvedPlacement): Uint8Array[] {
    if (this.hostsFor?.p === p) return this.hostsFor.hosts;
    const S = slotsPerRank(p.gpus, p.slotsPerGpu, this.size);
    const lo = this.rank * S;
    const hosts = p.slotsOf.map((of) => Uint8Array.from(of, (slots) => (slots.some((s) => s >= lo && s < lo + S) ? 1 : 0)));
    this.hostsFor = { p, hosts };
    return hosts;
  }

  /** One MoE layer of the current round with this pod's rows (a forward's MoeCall). */
  run(call: MoeCall, p: ResolvedPlacement): Promise<Float32Array> {
    if (call.layer !== this.layer) throw new Error(`expert all-to-all: MoE layer ${call.layer} out of step (the round is at layer ${this.layer})`);
    return this.exchange(call.layer, p, call.plan.slotOfRow, call.plan.expertOfRow, call.plan.xs);
  }

  /** Ends a round: MoE layers its forward did not reach (it failed locally) are joined with zero rows. */
  async endRound(p: ResolvedPlacement): Promise<void> {
    while (this.layer > 0) await this.empty(p);
  }

  /** Ends a step: the rounds this pod did not need (or whose forward failed before any MoE layer) join with zero rows. */
  async endStep(p: ResolvedPlacement): Promise<void> {
    if (this.moeLayers === 0) return;
    while (this.layer > 0 || this.roundsDone < this.rounds) await this.empty(p);
  }

  private empty(p: ResolvedPlacement): Promise<Float32Array> {
    return this.exchange(this.layer, p, new Int32Array(0), new Int32Array(0), new Float32Array(0));
  }

  private exchange(m: number, p: ResolvedPlacement, slotOfRow: Int32Array, expertOfRow: Int32Array, xs: Float32Array): Promise<Float32Array> {
    return this.guard(async () => {
      const t0 = performance.now();
      let tc = 0;
      const coll = async (p: Promise<void>): Promise<void> => {
        const t = performance.now();
        await p;
        tc += performance.now() - t;
      };
      if (this.roundsDone >= this.rounds) throw new Error(`expert all-to-all: a forward beyond the ${this.rounds} rounds agreed for this step`);
      const moe = this.moeAt!(m);
      const n = this.size;
      const rows = slotOfRow.length;
      const S = slotsPerRank(p.gpus, p.slotsPerGpu, n);
      // This pod's rows by destination rank, plan order within each.
      const sendRows = new Array<number>(n).fill(0);
      const rankOf = new Int32Array(rows);
      for (let i = 0; i < rows; i++) {
        const r = Math.floor(slotOfRow[i] / S);
        if (r >= n) throw new Error(`expert all-to-all: slot ${slotOfRow[i]} is on EP rank ${r}, but the replica has ${n} pods`);
        rankOf[i] = r;
        sendRows[r]++;
      }
      const width = this.width;
      // Padded dispatch after a round's first MoE layer: no counts exchange; each segment is sized for all of the
      // sender's rows (it has the same rows at every layer of a round) and starts with its row count.
      const padded = this.dispatch === 'padded' && this.layer > 0;
      let recvRows: number[] = [];
      if (!padded) {
        // Counts (and, for padded dispatch, each pod's rows this round: the later layers' segment capacity).
        const w = this.dispatch === 'padded' ? 2 : 1;
        const mine = new Int32Array(n * w);
        for (let r = 0; r < n; r++) {
          mine[r * w] = sendRows[r];
          if (w === 2) mine[r * w + 1] = rows;
        }
        const recvCounts = new Int32Array(n * w);
        await coll(this.group.alltoallv(mine, new Array<number>(n).fill(4 * w), recvCounts, new Array<number>(n).fill(4 * w)));
        recvRows = Array.from({ length: n }, (_, q) => recvCounts[q * w]);
        if (w === 2) this.capOf = Array.from({ length: n }, (_, q) => recvCounts[q * w + 1]);
      }
      const head = padded ? 4 : 0;
      const segBytes = (cap: number): number => head + 4 * cap * (1 + width);
      // Padded: the capacity this pod declared at the round's first layer (a failed forward's remaining layers send 0).
      if (padded && rows > this.capOf[this.rank]) throw new Error(`expert all-to-all: ${rows} rows at MoE layer ${m}, beyond the ${this.capOf[this.rank]} this pod declared for the round`);
      const capTo = (r: number): number => (padded ? this.capOf[this.rank] : sendRows[r]);
      const out = new Uint8Array(Array.from({ length: n }, (_, r) => segBytes(capTo(r))).reduce((a, b) => a + b, 0));
      const order = new Int32Array(rows);
      let off = 0;
      let k = 0;
      for (let r = 0; r < n; r++) {
        const cnt = sendRows[r];
        if (padded) new Int32Array(out.buffer, off, 1)[0] = cnt;
        const ids = new Int32Array(out.buffer, off + head, cnt);
        const rx = new Float32Array(out.buffer, off + head + 4 * capTo(r), cnt * width);
        let j = 0;
        for (let i = 0; i < rows; i++) {
          if (rankOf[i] !== r) continue;
          ids[j] = expertOfRow[i];
          rx.set(xs.subarray(i * width, i * width + width), j * width);
          order[k++] = i;
          j++;
        }
        off += segBytes(capTo(r));
      }
      const capFrom = (q: number): number => (padded ? this.capOf[q] : recvRows[q]);
      const inBytes = Array.from({ length: n }, (_, q) => segBytes(capFrom(q)));
      const got = new Uint8Array(inBytes.reduce((a, b) => a + b, 0));
      await coll(this.group.alltoallv(out, Array.from({ length: n }, (_, r) => segBytes(capTo(r))), got, inBytes));
      if (padded) {
        off = 0;
        recvRows = inBytes.map((b, q) => {
          const c = new Int32Array(got.buffer, off, 1)[0];
          off += b;
          if (!(c >= 0 && c <= this.capOf[q])) throw new Error(`expert all-to-all: pod ${q} says it sent ${c} rows, beyond its ${this.capOf[q]} rows this round`);
          return c;
        });
      }
      // Received rows (source-major), regrouped by logical expert for one experts call.
      const M = recvRows.reduce((a, b) => a + b, 0);
      const E = moe.experts.ids.length;
      const hosts = this.hosts(p)[m];
      const expertOf = new Int32Array(M);
      const src = new Int32Array(M);
      off = 0;
      let i0 = 0;
      for (let q = 0; q < n; q++) {
        const ids = new Int32Array(got.buffer, off + head, recvRows[q]);
        for (let j = 0; j < recvRows[q]; j++) {
          const e = ids[j];
          if (!(e >= 0 && e < E) || !hosts[e]) throw new Error(`expert all-to-all: pod ${q} sent rows of expert ${e} of MoE layer ${m} to pod ${this.rank}, which does not host it under placement version ${p.version}`);
          expertOf[i0] = e;
          src[i0++] = off + head + 4 * capFrom(q) + 4 * j * width;
        }
        off += inBytes[q];
      }
      const offsets = new Int32Array(E + 1);
      for (let i = 0; i < M; i++) offsets[expertOf[i] + 1]++;
      for (let e = 0; e < E; e++) offsets[e + 1] += offsets[e];
      const fill = offsets.slice(0, E);
      const at = new Int32Array(M);
      for (let i = 0; i < M; i++) at[i] = fill[expertOf[i]]++;
      const back = new Float32Array(M * width);
      if (M > 0) {
        const grouped = new Float32Array(M * width);
        for (let i = 0; i < M; i++) grouped.set(new Float32Array(got.buffer, src[i], width), at[i] * width);
        const te = performance.now();
        const y = moe.experts.forward(grouped, offsets);
        this.time.experts += performance.now() - te;
        for (let i = 0; i < M; i++) back.set(y.subarray(at[i] * width, at[i] * width + width), i * width);
      }
      const ret = new Float32Array(rows * width);
      await coll(this.group.alltoallv(back, recvRows.map((c) => 4 * c * width), ret, sendRows.map((c) => 4 * c * width)));
      const ys = new Float32Array(rows * width);
      for (let j = 0; j < rows; j++) ys.set(ret.subarray(j * width, j * width + width), order[j] * width);
      this.layer++;
      this.layersRun++;
      if (this.layer === this.moeLayers) {
        this.layer = 0;
        this.roundsDone++;
      }
      this.time.collectives += tc;
      this.time.exchange += performance.now() - t0;
      return ys;
    });
  }
}
