// Routed-token accounting: cumulative counts per [moe layer][logical expert] (what the load ConfigMap reports) and,
// under the current placement, which physical replica serves each routed (token, expert) pair — the expert's replicas
// take its tokens in turn (round-robin kept across steps, so even one-token decode steps spread over the replicas) —
// and so the tokens per GPU (EP rank = floor(slot / slotsPerGpu)).
// balance() = max / mean tokens per GPU over the last `window` steps, per MoE layer, averaged over the layers.
import type { Dispatch } from './moe.js';
import type { ResolvedPlacement } from './expert-slots.js';

export class ExpertLoad {
  private readonly counts: Float64Array[];
  private placement: ResolvedPlacement;
  /** Per layer and logical expert: the next replica's turn. */
  private turn: Uint32Array[];
  /** Ring of finished steps: per layer, tokens per GPU. */
  private readonly history: Float64Array[][] = [];
  private stepGpu: Float64Array[];

  constructor(private readonly moeLayers: number, private readonly experts: number, placement: ResolvedPlacement, private readonly window = 64) {
    this.counts = Array.from({ length: moeLayers }, () => new Float64Array(experts));
    this.placement = placement;
    this.turn = this.freshTurns();
    this.stepGpu = this.freshGpus();
  }

  private freshTurns(): Uint32Array[] {
    return Array.from({ length: this.moeLayers }, () => new Uint32Array(this.experts));
  }

  private freshGpus(): Float64Array[] {
    return Array.from({ length: this.moeLayers }, () => new Float64Array(this.placement.gpus));
  }

  get version(): number {
    return this.placement.version;
  }

  get current(): ResolvedPlacement {
    return this.placement;
  }

  /** Swaps the placement (call between steps); the load window restarts since GPU loads are placement-specific. */
  setPlacement(p: ResolvedPlacement): void {
    this.placement = p;
    this.turn = this.freshTurns();
    this.stepGpu = this.freshGpus();
    this.history.length = 0;
  }

  dispatcher(layer: number): Dispatch {
    return (idx) => {
      const cnt = this.counts[layer];
      const { slotsOf, slotsPerGpu } = this.placement;
      const turn = this.turn[layer];
      const gpu = this.stepGpu[layer];
      const chosen = new Int32Array(idx.length);
      for (let i = 0; i < idx.length; i++) {
        const e = idx[i];
        cnt[e]++;
        const slots = slotsOf[layer][e];
        const slot = slots[turn[e]++ % slots.length];
        gpu[Math.floor(slot / slotsPerGpu)]++;
        chosen[i] = slot;
      }
      return chosen;
    };
  }

  /** Closes a step: its per-GPU loads enter the window. */
  endStep(): void {
    if (this.stepGpu.some((g) => g.some((v) => v > 0))) {
      this.history.push(this.stepGpu);
      if (this.history.length > this.window) this.history.shift();
    }
    this.stepGpu = this.freshGpus();
  }

  cumulative(): number[][] {
    return this.counts.map((c) => Array.from(c));
  }

  /** max/mean tokens per GPU over the window (1 = perfectly even; 1 when nothing was routed yet). */
  balance(): number {
    if (this.history.length === 0 || this.moeLayers === 0) return 1;
    let sum = 0;
    for (let l = 0; l < this.moeLayers; l++) {
      const tot = new Float64Array(this.placement.gpus);
      for (const step of this.history) for (let g = 0; g < tot.length; g++) tot[g] += step[l][g];
      const mean = tot.reduce((a, b) => a + b, 0) / tot.length;
      sum += mean > 0 ? Math.max(...tot) / mean : 1;
    }
    return sum / this.moeLayers;
  }
}
