// A test file whose prerequisite is missing must fail, not skip quietly: `need()` registers a failing test that says
// what is missing and how to get it, and returns whether the prerequisite is there (callers skip the rest).
import { test } from 'node:test';

export function need(present: boolean, what: string, fix: string): boolean {
  if (!present) test(`prerequisite: ${what}`, () => { throw new Error(`${what} is missing: ${fix}`); });
  return present;
}
