// The whole model on rank 0, for the inference export (I/O code). Each parameter and router bias has one writer,
// its lowest-ranked holder; every writer other than rank 0 packs what it writes into one message, in model order,
// and rank 0 unpacks the messages next to its own tensors. Every rank calls this after its last step.
import type { Trainer } from '../train/trainer.js';
import { paramSpecs } from './held-params.js';
import type { ParamPlacement } from './param-placement.js';
import type { ProcessGroup } from '../comm/process-group.js';

const TAG = 0x7000000; // above every pipeline tag (pp-ops.ts tagOf)

interface Entry { name: string; length: number; writer: number; buffer: boolean }

function entries(pl: ParamPlacement): Entry[] {
  const spec = paramSpecs(pl.config);
  const out: Entry[] = spec.list().map((p) => ({
    name: p.name, length: p.shape.reduce((a, b) => a * b, 1), writer: pl.holders(p.name)[0]!, buffer: false,
  }));
  const suffix = '.e_score_correction_bias';
  for (const name of spec.buffers.keys()) {
    out.push({ name, length: pl.config.n_routed_experts, writer: pl.holders(`${name.slice(0, -suffix.length)}.weight`)[0]!, buffer: true });
  }
  return out;
}

/** Rank 0: every weight by model name (as liveWeights), others: undefined. */
export async function gatherWeights(t: Trainer, pl: ParamPlacement, world: ProcessGroup): Promise<Map<string, Float32Array> | undefined> {
  const all = entries(pl);
  const local = (e: Entry): Float32Array => {
    const v = e.buffer ? t.params.buffer(e.name) : t.params.get(e.name).data;
    if (!(v instanceof Float32Array)) throw new Error('exports are made from float32 master weights');
    return v;
  };
  const me = world.rank;
  if (me !== 0) {
    const mine = all.filter((e) => e.writer === me);
    if (mine.length === 0) return undefined;
    const buf = new Float32Array(mine.reduce((a, e) => a + e.length, 0));
    let off = 0;
    for (const e of mine) {
      buf.set(local(e), off);
      off += e.length;
    }
    await world.send(buf, 0, TAG);
    return undefined;
  }
  const out = new Map<string, Float32Array>();
  const from = new Map<number, Entry[]>();
  for (const e of all) {
    if (e.writer === 0) out.set(e.name, e.buffer ? Float32Array.from(local(e)) : local(e));
    else from.set(e.writer, [...(from.get(e.writer) ?? []), e]);
  }
  await Promise.all([...from].map(async ([r, list]) => {
    const buf = new Float32Array(list.reduce((a, e) => a + e.length, 0));
    await world.recv(buf, r, TAG);
    let off = 0;
    for (const e of list) {
      out.set(e.name, buf.subarray(off, off + e.length));
      off += e.length;
    }
  }));
  // Model order, as liveWeights gives it.
  return new Map(all.map((e) => [e.name, out.get(e.name)!]));
}
