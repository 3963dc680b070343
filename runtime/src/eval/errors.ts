// The evaluation's failures as the operator sees them (pure): each carries the reason and exit code of the contract
// (operator/contract/evaluation.ts EvalExitCode), so `moe-runtime eval` exits with it and reports it in the result.
import { EvalExitCode, type EvalFailureReason } from '../../../operator/contract/index.js';

export class EvalError extends Error {
  constructor(message: string, readonly reason: EvalFailureReason = 'Failed', readonly exitCode: number = EvalExitCode.failed) {
    super(message);
    this.name = 'EvalError';
  }
}

/** A task file that cannot be read, a malformed line, a missing or wrong field: `<file>:<line>: <what>`. */
export class BadTaskError extends EvalError {
  constructor(message: string) {
    super(message, 'BadTasks', EvalExitCode.badTasks);
    this.name = 'BadTaskError';
  }
}

/** The model cannot be reached (connection refused, timeouts after the plan's retries) or loaded. */
export class ModelUnreachableError extends EvalError {
  constructor(message: string) {
    super(message, 'ModelUnreachable', EvalExitCode.modelUnreachable);
    this.name = 'ModelUnreachableError';
  }
}

/**
 * An error while scoring the sample at `file:line`, named there: the model's own failures (unreachable) pass as they
 * are; another evaluation error keeps its reason with the place prefixed; anything else is the sample's fault.
 */
export function atSample(file: string, line: number, e: unknown): EvalError {
  if (e instanceof ModelUnreachableError) return e;
  const msg = `${file}:${line}: ${(e as Error).message}`;
  if (e instanceof EvalError) return new EvalError(msg, e.reason, e.exitCode);
  return new BadTaskError(msg);
}
