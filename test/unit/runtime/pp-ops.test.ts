// The pure parts of the pipeline executor: where an op's chunk sits (stage, step micro-batch), which buffers a
// forward, backward, send or receive uses, the sends an FB pair posts itself, and the step state's bookkeeping.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rankSchedule } from '../../../operator/plan/schedule/generate.js';
import { opText, type ScheduleOp } from '../../../operator/plan/schedule/ops.js';
import {
  chunkAt, forwardInput, messageKind, outputGradient, pairSends, tagOf, type MessageOp, type PipeSeat,
} from '../../../runtime/src/parallel/pp-ops.js';
import { PipelineStepState } from '../../../runtime/src/parallel/pp-step-state.js';
import type { StageFwd } from '../../../runtime/src/parallel/stage.js';

describe('chunks of the op list placed in the model', () => {
  it('DualPipe: the second direction runs the mirrored stage on the second half of the batch', () => {
    const seat: PipeSeat = { schedule: 'DualPipe', rank: 0, ranks: 2, microBatches: 4 };
    assert.deepEqual(chunkAt(seat, { dir: 0, mb: 1 }), { stage: 0, mb: 1, key: '0/1' });
    assert.deepEqual(chunkAt(seat, { dir: 1, mb: 0 }), { stage: 1, mb: 2, key: '1/2' });
  });
  it('a forward reads the received input, or its previous stage on this rank; stage 0 reads none', () => {
    const seat: PipeSeat = { schedule: 'DualPipeV', rank: 1, ranks: 2, microBatches: 4 };
    const turn = chunkAt(seat, { dir: 1, mb: 2 }); // rank 1 runs stages 1 and 2: DualPipeV's turn
    assert.deepEqual(turn, { stage: 2, mb: 2, key: '2/2' });
    assert.deepEqual(forwardInput(turn), { received: '2/2', local: '1/2' });
    assert.equal(forwardInput(chunkAt({ ...seat, rank: 0 }, { dir: 0, mb: 0 })), undefined);
  });
  it('a backward reads the received output gradient, or its next stage on this rank; the last stage reads none', () => {
    assert.deepEqual(outputGradient({ stage: 1, mb: 3, key: '1/3' }, 4), { received: '1/3', local: '2/3' });
    assert.equal(outputGradient({ stage: 3, mb: 3, key: '3/3' }, 4), undefined);
  });
  it('messages: activations (F) and gradients (B) of each direction get their own tag range', () => {
    const msg = (kind: MessageOp['kind']): MessageOp => ({ kind, dir: 0, mb: 0, peer: 1 });
    assert.deepEqual((['sendF', 'recvF', 'sendB', 'recvB'] as const).map((k) => messageKind(msg(k))), ['F', 'F', 'B', 'B']);
    const tags = [tagOf('F', 0, 5), tagOf('F', 1, 5), tagOf('B', 0, 5), tagOf('B', 1, 5)];
    assert.deepEqual(tags, [5, 0x100005, 0x200005, 0x300005]);
  });
});

describe('sends an FB pair posts itself (overlap mode)', () => {
  const text = (ops: ScheduleOp[], idx: number[]): string[] => idx.map((i) => opText(ops[i]!));
  it('DualPipeV rank 1: each chunk\'s sends listed after the pair and before the next compute op', () => {
    const ops = rankSchedule('DualPipeV', 1, 2, 4);
    const pairs = pairSends(ops);
    const got = [...pairs].map(([i, p]) => [opText(ops[i]!), text(ops, p.f), text(ops, p.b)]);
    assert.deepEqual(got, [
      ['F1.2+B0.0', ['>F1.2@0'], ['>B0.0@0']],
      ['F0.3+B1.1', [], []], // the next compute op follows at once
      ['F1.3+B0.1', ['>F1.3@0'], ['>B0.1@0']],
    ]);
  });
  it('stops at the next compute op and takes only the pair\'s own chunks', () => {
    const ops: ScheduleOp[] = [
      { kind: 'FB', f: { dir: 0, mb: 1 }, b: { dir: 1, mb: 0 } },
      { kind: 'sendF', dir: 0, mb: 0, peer: 1 }, // another micro-batch
      { kind: 'sendB', dir: 1, mb: 0, peer: 0 },
      { kind: 'sendF', dir: 0, mb: 1, peer: 1 },
      { kind: 'F', dir: 0, mb: 2 },
      { kind: 'sendF', dir: 0, mb: 1, peer: 1 }, // after the next compute op
    ];
    assert.deepEqual(pairSends(ops), new Map([[0, { f: [3], b: [2] }]]));
  });
});

describe('pipeline step state', () => {
  const batch = { tokens: new Int32Array(0), rows: 1, window: 3, seqLen: 2, stage: { microBatches: 2, alpha: 0, mtpLambda: 0 }, messageValues: 4 };
  const fwd = (loss: number, counts: Array<[string, number[]]>): StageFwd => ({
    loss, mainLoss: loss / 2, mtpLoss: 0, balance: 0.25, counts: new Map(counts.map(([k, c]) => [k, Int32Array.from(c)])),
    back: async () => undefined,
  });
  it('adds the forwards\' loss parts and sums expert loads per layer, without keeping the forward\'s arrays', () => {
    const st = new PipelineStepState(batch, true);
    const first = fwd(1, [['model.layers.1.mlp', [1, 2]]]);
    st.addForward(first);
    st.addForward(fwd(3, [['model.layers.1.mlp', [10, 20]], ['model.layers.2.mlp', [5, 0]]]));
    assert.deepEqual(st.losses, { loss: 4, mainLoss: 2, mtpLoss: 0, balance: 0.5 });
    assert.deepEqual(st.counts, new Map([['model.layers.1.mlp', Int32Array.from([11, 22])], ['model.layers.2.mlp', Int32Array.from([5, 0])]]));
    assert.deepEqual(first.counts.get('model.layers.1.mlp'), Int32Array.from([1, 2]));
  });
  it('a send carries what the forward (F) or backward (B) made; a receive files a stage input (F) or output gradient (B)', async () => {
    const st = new PipelineStepState(batch, false);
    const y = Float32Array.of(1), dx = Float32Array.of(2);
    st.outputs.set('0/1', y);
    st.gradsIn.set('0/1', dx);
    assert.equal(st.sendBuffer('F', '0/1'), y);
    assert.equal(st.sendBuffer('B', '0/1'), dx);
    assert.equal(st.sendBuffer('F', '0/2'), undefined);
    st.receiving('F', '1/1', Promise.resolve(y));
    st.receiving('B', '1/1', Promise.resolve(dx));
    assert.equal(await st.inputs.get('1/1'), y);
    assert.equal(await st.gradsOut.get('1/1'), dx);
  });
});
