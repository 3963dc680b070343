// One scoring implementation, two backends: multiple choice on a tiny random model in-process (the serving engine) and
// through a real router + decode replica over HTTP give the same accuracy and the same per-choice log-likelihoods,
// and those equal the float64 log-softmax of model/transformer.ts step() summed over the continuation's tokens; a
// generate task scores the same greedy completions both ways; an unreachable or wrong server is named as such.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { ApiModel } from '../../../runtime/src/eval/api-model.js';
import { EngineModel } from '../../../runtime/src/eval/engine-model.js';
import { ModelUnreachableError } from '../../../runtime/src/eval/errors.js';
import { argmax, continuationLogLikelihood, scoreMultipleChoice } from '../../../runtime/src/eval/multiple-choice.js';
import { scoreGenerate } from '../../../runtime/src/eval/generate-task.js';
import type { EvalModel } from '../../../runtime/src/eval/model.js';
import type { MultipleChoiceSample } from '../../../runtime/src/eval/tasks.js';
import { deadUrl, MODEL, referenceLogprobs, stack, tinyEngine, type Stack } from '../serve/http-fixture.js';

let s: Stack;
let api: EvalModel;
let local: EvalModel;
before(async () => {
  s = await stack({ decode: 1 });
  api = new ApiModel(`${s.url}/v1`, MODEL, { timeoutMs: 20_000, retries: 0 });
  local = new EngineModel(tinyEngine(), 'tiny in-process');
});
after(async () => {
  await local.close();
  await s.close();
});

/** The reference log-likelihood of `continuation` after `context` (byte tokens, no whitespace moved). */
function referenceLL(context: string, continuation: string): number {
  const ids = Array.from(byteTokenizer.encode(context + continuation));
  const n = byteTokenizer.encode(context).length;
  const ref = referenceLogprobs(ids);
  let ll = 0;
  for (let i = n; i < ids.length; i++) ll += ref[i - 1][ids[i]];
  return ll;
}

const questions: Omit<MultipleChoiceSample, 'answer'>[] = [
  { line: 1, context: 'Question: 2 + 2 =\nAnswer:', choices: ['4', '5', '22'] },
  { line: 2, context: 'The sky is', choices: ['blue', 'green'] },
  { line: 3, context: 'Capital of France:', choices: ['Paris', 'Rome', 'Berlin', 'Madrid'] },
  { line: 4, context: 'fox', choices: ['jumps', 'sleeps'] },
];

describe('multiple choice', () => {
  it('the continuation split and its log-likelihood equal step()\'s log-softmax (one case by hand)', async () => {
    // Byte tokens: context "The sky is" is 10 tokens, continuation " blue" 5; trailing context whitespace moves over.
    for (const m of [local, api]) {
      const r = await continuationLogLikelihood(m, 'The sky is', ' blue');
      assert.equal(r.tokens, 5);
      assert.ok(Math.abs(r.logLikelihood - referenceLL('The sky is', ' blue')) < 1e-5, `${m.description}: ${r.logLikelihood}`);
      const moved = await continuationLogLikelihood(m, 'The sky is ', 'blue');
      assert.equal(moved.tokens, 5);
      assert.ok(Math.abs(moved.logLikelihood - r.logLikelihood) < 1e-9);
    }
  });

  it('both backends: the same accuracy, acc_norm and per-choice log-likelihoods, equal to the reference', async () => {
    // Answers: the reference's own argmax for the first two, another choice for the last two → accuracy 0.5 exactly.
    const refLL = questions.map((q) => q.choices.map((c) => referenceLL(q.context, ` ${c}`)));
    const samples = questions.map((q, i) => ({ ...q, answer: i < 2 ? argmax(refLL[i]) : (argmax(refLL[i]) + 1) % q.choices.length }));
    const a = await scoreMultipleChoice(local, 'mc.jsonl', samples, 4);
    const b = await scoreMultipleChoice(api, 'mc.jsonl', samples, 4);
    assert.deepEqual(a.accuracy, { score: 0.5, stderr: Math.sqrt(1 / 3) / 2, n: 4 });
    assert.deepEqual(b.accuracy, a.accuracy);
    assert.deepEqual(b.accNorm, a.accNorm);
    a.samples.forEach((x, i) => {
      assert.deepEqual(b.samples[i].choices.map((c) => c.tokens), x.choices.map((c) => c.tokens));
      x.choices.forEach((c, j) => {
        assert.ok(Math.abs(c.logLikelihood - b.samples[i].choices[j].logLikelihood) < 1e-9, `sample ${i} choice ${j}: ${c.logLikelihood} vs ${b.samples[i].choices[j].logLikelihood}`);
        assert.ok(Math.abs(c.logLikelihood - refLL[i][j]) < 1e-5, `sample ${i} choice ${j} vs reference: ${c.logLikelihood} vs ${refLL[i][j]}`);
      });
      // acc_norm divides by the choice's characters.
      assert.equal(x.predictedNorm, argmax(refLL[i].map((ll, j) => ll / questions[i].choices[j].length)));
    });
  });
});

describe('generate', () => {
  it('greedy completions are the same through both backends and equal the reference greedy decode; exact match scores them', async () => {
    const prompt = 'Q: 1 + 1 = ?\nA:';
    // The reference greedy continuation: argmax of step()'s last row, token by token.
    const ids = Array.from(byteTokenizer.encode(prompt));
    for (let t = 0; t < 6; t++) {
      const ref = referenceLogprobs(ids);
      ids.push(argmax(Array.from(ref[ref.length - 1])));
    }
    const greedy = byteTokenizer.decode(ids.slice(byteTokenizer.encode(prompt).length));
    const samples = [{ line: 1, prompt, answer: greedy }, { line: 2, prompt, answer: 'certainly not this' }];
    // The whole completion is the answer (a pattern that captures everything).
    const o = { maxTokens: 6, answerPattern: '^([\\s\\S]*)$', concurrency: 2 };
    const a = await scoreGenerate(local, 'gen.jsonl', samples, o);
    const b = await scoreGenerate(api, 'gen.jsonl', samples, o);
    assert.equal(a.samples[0].completion, greedy);
    assert.equal(b.samples[0].completion, greedy);
    assert.deepEqual(a.exactMatch, { score: 0.5, stderr: 0.5, n: 2 });
    assert.deepEqual(b.exactMatch, a.exactMatch);
  });
});

describe('an unreachable model', () => {
  it('connection refused: ModelUnreachableError after 1 + retries attempts, naming the URL and the cause', async () => {
    const url = await deadUrl();
    const m = new ApiModel(`${url}/v1`, 'x', { timeoutMs: 2000, retries: 2, backoffMs: () => 10 });
    await assert.rejects(m.complete('hi', { maxTokens: 1, temperature: 0, seed: 0 }), (e: Error) =>
      e instanceof ModelUnreachableError && e.message.startsWith(`${url}/v1/completions: unreachable after 3 attempts`) && /ECONNREFUSED/.test(e.message));
  });

  it('a server that never answers: timed out, retried, then unreachable', async () => {
    let hits = 0;
    const hang: Server = createServer(() => { hits++; });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    try {
      const m = new ApiModel(`http://127.0.0.1:${(hang.address() as { port: number }).port}/v1`, 'x', { timeoutMs: 200, retries: 1, backoffMs: () => 10 });
      await assert.rejects(m.promptLogprobs([1, 2]), (e: Error) => e instanceof ModelUnreachableError && /unreachable after 2 attempts \(timeout 0\.2 s each\): timed out/.test(e.message));
      assert.equal(hits, 2);
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('a server that serves another model is named as unreachable with its message', async () => {
    const m = new ApiModel(`${s.url}/v1`, 'not-served', { timeoutMs: 5000, retries: 0 });
    await assert.rejects(m.complete('hi', { maxTokens: 1, temperature: 0, seed: 0 }), (e: Error) => e instanceof ModelUnreachableError && /HTTP 404: the model "not-served" does not exist/.test(e.message));
    assert.equal(await new ApiModel(`${s.url}/v1`, '?', { timeoutMs: 5000, retries: 0 }).servedModel(), MODEL);
  });
});
