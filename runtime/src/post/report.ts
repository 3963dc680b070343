// A GRPO step as the progress report rank 0 sends the operator (operator/contract/reports.ts): the common fields
// plus the `grpo` block status.progress shows. Pure.
import type { ProgressReport } from '../../../operator/contract/index.js';
import type { GrpoMetrics } from './grpo.js';

export function grpoProgress(m: GrpoMetrics): ProgressReport {
  return {
    step: m.step, tokens: m.step * m.tokens, loss: m.loss, tokensPerSecond: m.tokens / m.seconds,
    grpo: {
      rewardMean: m.rewardMean, rewardStd: m.rewardStd, kl: m.kl, responseLength: m.responseLength,
      signalFraction: m.signalFraction, rewardErrors: m.rewardErrors,
      // A judged run always says how many calls there were (and how many failed), so status shows the judge scoring.
      ...(m.judgeCalls > 0 ? { judgeCalls: m.judgeCalls, judgeFailures: m.judgeFailures } : {}),
      ...(m.judgeError && m.judgeFailures > 0 ? { judgeError: m.judgeError } : {}),
    },
  };
}
