// GRPO's rewards and prompt data: each rule-based reward on hand-written responses, code in the real sandbox (pass,
// fail, timeout counted as an error), the weighted sum, a reward that throws scoring 0 and counted, bad reward specs
// refused at the start; the prompts JSONL reader naming the file and line, and the prompt-length limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rewards, boxedReward, exactMatch, regexReward, type Sample } from '../../../runtime/src/post/rewards.js';
import { encodePrompts, parsePrompts } from '../../../runtime/src/post/prompts.js';
import { judgePrompt, parseScore } from '../../../runtime/src/post/judge.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';

const sample = (response: string, reference: string, language: Sample['language'] = 'javascript'): Sample => ({ question: 'q', response, reference, language });

test('rule rewards: exact match, regex, boxed (last box, numeric equality)', () => {
  assert.equal(exactMatch('  42\n', '42'), 1);
  assert.equal(exactMatch('42.', '42'), 0);
  assert.equal(regexReward('the answer is 7', /answer is \d+/u), 1);
  assert.equal(regexReward('no', /answer/u), 0);
  assert.equal(boxedReward('so \\boxed{12} then \\boxed{ 1,234 }', '1234'), 1);
  assert.equal(boxedReward('\\boxed{12} then \\boxed{13}', '12'), 0);
  assert.equal(boxedReward('12', '12'), 0);
  assert.equal(boxedReward('\\boxed{57.0}', '57'), 1);
});

test('weighted sum; a reward that throws scores 0 and is counted; code runs in the sandbox with its time limit', async () => {
  const r = new Rewards([{ type: 'boxed', weight: 2 }, { type: 'regex', pattern: 'ok' }, { type: 'code', timeoutSeconds: 2 }], { judges: {} });
  const tests = 'if (add(2, 3) !== 5) throw new Error("wrong");';
  const out = await r.score([
    sample('function add(a, b) { return a + b; } // ok \\boxed{5}', tests),
    sample('function add(a, b) { return a - b; }', tests),
    sample('function add(a, b) { for (;;) {} }', tests),
  ]);
  // Sample 0: boxed "5" vs the reference (the test source) fails, regex 1, code passes → 0 + 1 + 1.
  assert.deepEqual(out.rewards, [2, 0, 0]);
  // Sample 2's code run hit the 2 s limit: an error, scored 0.
  assert.equal(out.errors, 1);
  assert.match(out.messages[0], /code reward took longer than 2 s/);
  assert.match(out.isolation!, /^network=\S+ limits=\S+$/);
  // A plain prompt is the start of the program (HumanEval-style completion).
  const completion = await new Rewards([{ type: 'code' }], { judges: {} }).score([{ ...sample('a + b; }', tests), codePrefix: 'function add(a, b) { return ' }]);
  assert.deepEqual(completion.rewards, [1]);
  const boxed = new Rewards([{ type: 'boxed', weight: 0.5 }], { judges: {} });
  assert.deepEqual((await boxed.score([sample('\\boxed{5}', '5'), sample('5', '5')])).rewards, [0.5, 0]);
});

test('a reward that throws (not a timeout) scores that sample 0 for that reward only, and each failure is counted', async () => {
  let calls = 0;
  // A sandbox that fails on its second call, as a missing interpreter or a full disk would.
  const run = async () => {
    if (++calls === 2) throw new Error('python3 is not on PATH');
    return { status: 'passed' as const, exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, ms: 1, isolation: 'network=netns limits=prlimit' };
  };
  const r = new Rewards([{ type: 'code' }, { type: 'exactMatch', weight: 0.5 }], { judges: {}, run });
  const out = await r.score([sample('7', '7'), sample('7', '7'), sample('8', '7')], 1);
  // Sample 1's code reward threw: it keeps its exact-match half; the others score code 1 (+ 0.5 when exact).
  assert.deepEqual(out.rewards, [1.5, 0.5, 1]);
  assert.equal(out.errors, 1);
  assert.deepEqual(out.messages, ['python3 is not on PATH']);
  // Every failing evaluation counts, with 4 in flight as in a step.
  const all = await new Rewards([{ type: 'code' }], { judges: {}, run: async () => { throw new Error('down'); } }).score([sample('x', 'y'), sample('x', 'y'), sample('x', 'y')]);
  assert.deepEqual([all.rewards, all.errors], [[0, 0, 0], 3]);
});

test('a reward spec that cannot work is refused when the rewards are built, naming the field', () => {
  assert.throws(() => new Rewards([], { judges: {} }), /rewards is empty/);
  assert.throws(() => new Rewards([{ type: 'regex' }], { judges: {} }), /rewards\[0\]: type regex needs "pattern"/);
  assert.throws(() => new Rewards([{ type: 'regex', pattern: '(' }], { judges: {} }), /rewards\[0\]\.pattern:/);
  assert.throws(() => new Rewards([{ type: 'judge', judge: { inferenceDeployment: 'j' } }], { judges: {} }), /no endpoint for judge InferenceDeployment j/);
});

test('judge prompt and score parser', () => {
  assert.equal(judgePrompt('Q {prompt} R {response} A {reference} {response}', { prompt: 'p{response}', response: 'r', reference: 'a' }), 'Q p{response} R r A a r');
  assert.equal(parseScore(' 7\n', '([0-9]+(?:[.][0-9]+)?)', 10), 0.7);
  assert.equal(parseScore('Score: 12', '([0-9]+)', 10), 1);
  assert.throws(() => parseScore('great', '([0-9]+)', 10), /has no score matching/);
});

test('prompts JSONL: plain and chat prompts; a malformed line names the file and the line', () => {
  const rs = parsePrompts('{"prompt":"1+2=","reference":"3"}\n\n{"messages":[{"role":"user","content":"hi"}],"reference":"x","language":"python"}\n', 'p.jsonl');
  assert.equal(rs.length, 2);
  assert.deepEqual([rs[0].line, rs[0].text, rs[0].reference, rs[0].language, rs[0].codePrefix], [1, '1+2=', '3', 'python', '1+2=']);
  assert.equal(rs[1].codePrefix, '');
  assert.equal(rs[1].line, 3);
  assert.equal(rs[1].question, 'hi');
  assert.ok(rs[1].text.includes('hi'));
  assert.throws(() => parsePrompts('{"prompt":"a","reference":"b"}\n{"prompt": "a",\n', 'data/p.jsonl'), /^Error: data\/p\.jsonl:2: not valid JSON/);
  assert.throws(() => parsePrompts('{"prompt":"a"}', 'p.jsonl'), /p\.jsonl:1: missing "reference"/);
  assert.throws(() => parsePrompts('[1]', 'p.jsonl'), /p\.jsonl:1: expected an object/);
  assert.throws(() => parsePrompts('{"messages":[{"role":"bot","content":"x"}],"reference":""}', 'p.jsonl'), /p\.jsonl:1: messages\[0\] must be/);
  assert.throws(() => parsePrompts('{"prompt":"a","reference":"b","language":"ruby"}', 'p.jsonl'), /p\.jsonl:1: "language" must be one of/);
  assert.throws(() => parsePrompts('\n', 'p.jsonl'), /p\.jsonl: no prompts/);
});

test('a prompt longer than the context minus maxNewTokens is refused with the limit named', () => {
  const rs = parsePrompts('{"prompt":"12345","reference":"x"}\n{"prompt":"1234567890","reference":"x"}', 'p.jsonl');
  assert.equal(encodePrompts(rs.slice(0, 1), byteTokenizer, 16, 8, 'p.jsonl')[0].length, 5);
  assert.throws(() => encodePrompts(rs, byteTokenizer, 16, 8, 'p.jsonl'),
    /p\.jsonl:2: the prompt is 10 tokens, longer than the limit of 8 \(training\.sequenceLength 16 minus training\.grpo\.maxNewTokens 8\)/);
  assert.throws(() => encodePrompts(rs, byteTokenizer, 8, 8, 'p.jsonl'), /maxNewTokens 8 leaves no room/);
});
