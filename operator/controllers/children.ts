// Pure rules for writing children: an existing object is adopted only when this resource controls it (owner reference
// with controller: true and the same UID); a write the API server refuses for good (invalid, forbidden, bad request)
// becomes a condition and an event and is retried after a doubling backoff, never in a hot loop.
import { ApiError, type KObject } from '../kube/rest.js';

export interface Owner {
  kind: string;
  name: string;
  uid: string;
}

export type Ownership =
  | { state: 'ours' }
  /** Controlled by an earlier object of the same kind and name (deleted, now garbage-collecting): wait for it. */
  | { state: 'stale'; message: string }
  /** Someone else's object: never touched. */
  | { state: 'foreign'; message: string };

const describe = (o: KObject) => `${o.kind ?? 'object'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;

/** Who controls `existing`, seen from `owner`. */
export function ownershipOf(existing: KObject, owner: Owner): Ownership {
  const refs = existing.metadata?.ownerReferences ?? [];
  const ctl = refs.find((r) => r.controller === true);
  if (ctl?.uid === owner.uid) return { state: 'ours' };
  const what = describe(existing);
  if (ctl && ctl.kind === owner.kind && ctl.name === owner.name) {
    return { state: 'stale', message: `${what} still belongs to an earlier ${owner.kind} ${owner.name} (uid ${ctl.uid}); waiting for the garbage collector to delete it` };
  }
  const by = ctl ? `it is controlled by ${ctl.kind} ${ctl.name}` : 'it was not created by this resource (no controller owner reference)';
  return { state: 'foreign', message: `${what} already exists and ${by}; it is left untouched. Delete or rename it, or use another ${owner.kind} name` };
}

/** An existing object of a child's name that this resource does not control. */
export class NameConflictError extends Error {
  override readonly name = 'NameConflictError';
  constructor(
    readonly object: string,
    readonly stale: boolean,
    message: string,
  ) {
    super(message);
  }
}

export type WriteVerb = 'create' | 'apply' | 'patch' | 'get';

/** A child write the API server refused. */
export class ChildWriteError extends Error {
  override readonly name = 'ChildWriteError';
  constructor(
    readonly verb: WriteVerb,
    readonly object: string,
    readonly statusCode: number,
    readonly apiMessage: string,
  ) {
    super(`${verb} ${object}: ${apiMessage}`);
  }
}

/** Wraps an API error of a child write with what was being written; other errors pass through unchanged. */
export function childWriteError(verb: WriteVerb, obj: KObject, e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  const body = e.body as { message?: unknown } | undefined;
  const msg = typeof body?.message === 'string' && body.message ? body.message : e.message;
  return new ChildWriteError(verb, describe(obj), e.statusCode, msg);
}

/**
 * Refusals that retrying cannot fix until someone changes something (the spec, the namespace's Pod Security labels,
 * RBAC): 400 bad request (unknown fields under strict validation), 403 forbidden, 422 invalid. Conflicts, throttling,
 * missing parents and server errors are transient and go back to the work queue's own backoff.
 */
export function isPersistentRefusal(statusCode: number): boolean {
  return statusCode === 400 || statusCode === 403 || statusCode === 422;
}

/** What the status shows for a failed write, or undefined for an error that is not one (retried as before). */
export interface WriteFailure {
  /** NameConflict, or WriteFailed. */
  condition: 'NameConflict' | 'WriteFailed';
  reason: string;
  message: string;
  /** A stale child waiting for garbage collection: short retry, no warning, no backoff growth. */
  transient: boolean;
}

export function writeFailureOf(e: unknown): WriteFailure | undefined {
  if (e instanceof NameConflictError) {
    return { condition: 'NameConflict', reason: e.stale ? 'WaitingForGarbageCollection' : 'NameConflict', message: e.message, transient: e.stale };
  }
  if (e instanceof ChildWriteError && isPersistentRefusal(e.statusCode)) {
    const reason = e.verb === 'create' ? 'FailedCreate' : e.verb === 'apply' ? 'FailedApply' : e.verb === 'patch' ? 'FailedPatch' : 'FailedGet';
    return { condition: 'WriteFailed', reason, message: e.message, transient: false };
  }
  return undefined;
}

export const WRITE_BACKOFF_BASE_MS = 5_000;
export const WRITE_BACKOFF_MAX_MS = 300_000;
export const STALE_RETRY_MS = 2_000;

/** Delay after the n-th consecutive refused write (n ≥ 1): 5 s · 2^(n−1), at most 5 min. */
export function writeBackoffMs(failures: number): number {
  if (failures < 1) return 0;
  return Math.min(WRITE_BACKOFF_MAX_MS, WRITE_BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 30));
}

/**
 * Per-resource memory of refused writes: while a backoff runs, the reconciler skips its writes (its status stays as
 * written); a new generation (the user changed the spec) or a successful pass clears it.
 */
export class WriteBackoff {
  private readonly m = new Map<string, { failures: number; until: number; generation: number }>();

  /** Milliseconds left before writes may be tried again (0: go ahead). */
  wait(uid: string, generation: number, now: number): number {
    const s = this.m.get(uid);
    if (!s) return 0;
    if (s.generation !== generation) {
      this.m.delete(uid);
      return 0;
    }
    return Math.max(0, s.until - now);
  }

  /** Records a failure; returns the delay before the next try. */
  failed(uid: string, generation: number, now: number, f: WriteFailure): number {
    const prev = this.m.get(uid);
    const failures = (prev && prev.generation === generation ? prev.failures : 0) + (f.transient ? 0 : 1);
    const delay = f.transient ? STALE_RETRY_MS : writeBackoffMs(failures);
    this.m.set(uid, { failures, until: now + delay, generation });
    return delay;
  }

  succeeded(uid: string): void {
    this.m.delete(uid);
  }

  /** Runs a reconcile's steps; a refused child write (or a name taken by someone else's object) becomes a condition
   *  and event on the resource and a backoff, not an error the work queue would retry hot. Other errors propagate. */
  async guard<R>(uid: string, generation: number, now: () => number, st: { writeFailed(f: WriteFailure): void },
    steps: () => Promise<R>): Promise<R | { requeueAfterMs: number }> {
    try {
      return await steps();
    } catch (e) {
      const f = writeFailureOf(e);
      if (!f) throw e;
      st.writeFailed(f);
      return { requeueAfterMs: this.failed(uid, generation, now(), f) };
    }
  }

  /** Whether the resource's last writes were refused (and nothing has gone through since). */
  failing(uid: string): boolean {
    return this.m.has(uid);
  }
}
