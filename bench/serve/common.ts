// What the serving benchmark's processes share: the model, the engine options, the seed, the prompts, the closed loop.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import type { Engine } from '../../runtime/src/serve/engine/engine.js';
import type { EngineOptions } from '../../runtime/src/serve/engine/types.js';
import { nativeAvailable } from '../../runtime/src/model/precision.js';
import { repoRoot } from '../plan/common.js';

export const config = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
export const precision: EngineOptions['precision'] = nativeAvailable() ? 'fp8' : 'fp32';
export const engineOpts: EngineOptions = { maxBatch: 8, maxQueue: 256, maxSequenceLength: 1024, precision };
export const SEED = 11;

const corpus = readFileSync(join(repoRoot, 'examples', 'corpus', 'fables.txt'), 'latin1').replace(/[^\x20-\x7e]/g, ' ');

export interface Mix { name: string; promptTokens: number; maxTokens: number; clients: number; requests: number }

/** ASCII prompt i of a mix: a window of the corpus, so prompts differ and are exactly promptTokens bytes. */
export const prompt = (m: Mix, i: number): string => corpus.slice((i * 977) % (corpus.length - m.promptTokens), (i * 977) % (corpus.length - m.promptTokens) + m.promptTokens);

export interface Sample { ttft: number; e2e: number; tokens: number }

/** N workers take requests 0..M-1 in turn (closed loop). */
export async function closedLoop(m: Mix, one: (i: number) => Promise<Sample>): Promise<{ samples: Sample[]; wall: number }> {
  let next = 0;
  const samples: Sample[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: m.clients }, async () => {
    while (next < m.requests) samples.push(await one(next++));
  }));
  return { samples, wall: (performance.now() - t0) / 1000 };
}

/** The peer: one request straight into the engine; TTFT and e2e from its onToken callbacks. */
export function direct(engine: Engine, m: Mix) {
  return (i: number): Promise<Sample> => {
    const t0 = performance.now();
    let first = 0;
    let n = 0;
    return engine.generate({ id: `d${i}`, promptIds: byteTokenizer.encode(prompt(m, i)), params: { maxTokens: m.maxTokens, temperature: 0, topP: 1, seed: i, stopTokenIds: [] } }, () => {
      if (n++ === 0) first = performance.now();
    }).then(() => ({ ttft: (first - t0) / 1000, e2e: (performance.now() - t0) / 1000, tokens: n }));
  };
}
