// Mean ± standard error and the unbiased pass@k estimator against hand-computed values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { meanStderr, passAtK } from '../../../runtime/src/eval/stats.js';

const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

describe('statistics', () => {
  it('mean and sample-std / sqrt(n)', () => {
    // [1,0,1,1]: mean 0.75, sample variance ((.25²)·3 + .75²)/3 = 0.25, stderr sqrt(.25)/2 = 0.25.
    assert.deepEqual(meanStderr([1, 0, 1, 1]), { score: 0.75, stderr: 0.25, n: 4 });
    // [1,0]: mean .5, variance .5, stderr sqrt(.5)/sqrt(2) = .5.
    near(meanStderr([1, 0]).stderr, 0.5, '[1,0]');
    assert.deepEqual(meanStderr([0.3]), { score: 0.3, stderr: 0, n: 1 });
    assert.throws(() => meanStderr([]), /no values/);
  });

  it('pass@k = 1 − C(n−c, k)/C(n, k)', () => {
    // n=5, c=2, k=1: 1 − C(3,1)/C(5,1) = 1 − 3/5 = 0.4.
    near(passAtK(5, 2, 1), 0.4, 'n5 c2 k1');
    // n=5, c=2, k=2: 1 − C(3,2)/C(5,2) = 1 − 3/10 = 0.7.
    near(passAtK(5, 2, 2), 0.7, 'n5 c2 k2');
    // n=10, c=3, k=5: 1 − C(7,5)/C(10,5) = 1 − 21/252 = 11/12.
    near(passAtK(10, 3, 5), 11 / 12, 'n10 c3 k5');
    // n=4, c=1, k=2: 1 − C(3,2)/C(4,2) = 1 − 3/6 = 0.5.
    near(passAtK(4, 1, 2), 0.5, 'n4 c1 k2');
    assert.equal(passAtK(4, 0, 4), 0);
    assert.equal(passAtK(4, 1, 4), 1);
    assert.equal(passAtK(5, 4, 2), 1);
    // pass@1 is c/n.
    near(passAtK(7, 3, 1), 3 / 7, 'n7 c3 k1');
    assert.throws(() => passAtK(4, 5, 1), /0 <= c <= n/);
    assert.throws(() => passAtK(4, 1, 5), /1 <= k <= n/);
  });
});
