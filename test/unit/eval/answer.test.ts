// Answer extraction (pattern's first group; else the last \boxed{...}; else the last number) and matching (trimmed
// exact, or equal numbers), on hand-written cases.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answersMatch, asNumber, extractAnswer, lastBoxed, lastNumber } from '../../../runtime/src/eval/answer.js';

describe('answer extraction', () => {
  it('takes the last \\boxed{...}, braces balanced', () => {
    assert.equal(extractAnswer('first \\boxed{1} then \\boxed{\\frac{1}{2}} done'), '\\frac{1}{2}');
    assert.equal(lastBoxed('no box'), undefined);
    assert.equal(lastBoxed('\\boxed{unclosed'), undefined);
    assert.equal(extractAnswer('\\boxed{ 42 } and 7 later'), ' 42 ');
  });

  it('else the last number in the text (thousands separators, decimals, signs)', () => {
    assert.equal(extractAnswer('She had 3 apples, bought 5 more, so 8 in total.'), '8');
    assert.equal(extractAnswer('The cost is $1,234.50 overall'), '1,234.50');
    assert.equal(extractAnswer('It drops to -7 degrees'), '-7');
    assert.equal(lastNumber('values .5 and 2.25'), '2.25');
    assert.equal(extractAnswer('no digits here'), undefined);
  });

  it("the task's answerPattern: the first match's first group (the whole match without a group)", () => {
    assert.equal(extractAnswer('#### 72\n#### 80', '#### (-?[0-9.,]+)'), '72');
    assert.equal(extractAnswer('answer: yes', 'yes|no'), 'yes');
    assert.equal(extractAnswer('The answer is 12', 'answer is (\\d+)'), '12');
    assert.equal(extractAnswer('nothing', 'answer is (\\d+)'), undefined);
  });

  it('matches trimmed text exactly, or equal numbers', () => {
    assert.equal(answersMatch(' Paris\n', 'Paris'), true);
    assert.equal(answersMatch('paris', 'Paris'), false);
    assert.equal(answersMatch('1,234', '1234'), true);
    assert.equal(answersMatch('72.0', '72'), true);
    assert.equal(answersMatch('$5', '5'), true);
    assert.equal(answersMatch('5.', '5'), true);
    assert.equal(answersMatch('0.5', '.5'), true);
    assert.equal(answersMatch('72.01', '72'), false);
    assert.equal(answersMatch(undefined, '72'), false);
    assert.equal(asNumber('12a'), undefined);
    assert.equal(asNumber('1e3'), 1000);
  });
});
