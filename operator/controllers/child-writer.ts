// The I/O half of children.ts: every child write of a controller goes through here, so an existing object of a
// child's name is checked for this resource's controller reference before anything is written to it, and every
// refusal carries what was written.
import type { V1Pod } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../api/constants.js';
import { isAlreadyExists, isNotFound, pathOf, resourcePath, type KObject, type KubeClient } from '../kube/rest.js';
import { NameConflictError, childWriteError, ownershipOf, type Owner } from './children.js';

/** One error naming every taken name (stale only when all are). */
function allConflicts(cs: readonly NameConflictError[]): NameConflictError {
  return new NameConflictError(cs.map((c) => c.object).join(', '), cs.every((c) => c.stale), cs.map((c) => c.message).join('; '));
}

export class ChildWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly owner: Owner,
  ) {}

  /** Throws NameConflictError unless `existing` is controlled by the owner. */
  check(existing: KObject): void {
    const o = ownershipOf(existing, this.owner);
    if (o.state !== 'ours') throw new NameConflictError(`${existing.kind ?? ''} ${existing.metadata?.name ?? ''}`.trim(), o.state === 'stale', o.message);
  }

  /** The live object's resourceVersion (none when absent), or the conflict when another owner holds the name. */
  private async readChecked(obj: KObject, signal?: AbortSignal): Promise<{ rv?: string | undefined; conflict?: NameConflictError }> {
    const live = await this.live(obj, signal);
    try {
      if (live) this.check(live);
    } catch (e) {
      return { conflict: e as NameConflictError };
    }
    return { rv: live?.metadata?.resourceVersion };
  }

  private async live<T extends KObject>(obj: T, signal?: AbortSignal): Promise<T | undefined> {
    try {
      const got = await this.client.get<T>(pathOf(obj), signal);
      // The API server leaves apiVersion/kind in; keep them for messages even if a proxy dropped them.
      return { ...got, apiVersion: obj.apiVersion, kind: obj.kind };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw childWriteError('get', obj, e);
    }
  }

  /**
   * Server-side apply of children (RoleBindings last). Objects the cache shows as ours are applied at once; the others
   * are read first, and if any exists without this owner's controller reference nothing at all is written: one
   * NameConflictError names every such object. `beside` (a gang's pods) starts once the check has passed and runs
   * alongside the waves; what needs the first wave's objects (a ServiceAccount) waits for `firstWave`. applyAll
   * settles after both, with the first error.
   * `createFirst` (a resource that has written none of its children yet): no reads; each object is created, and only
   * a name already taken is read, checked and applied, so a new resource's children cost one write each. Objects of
   * free names are then created before a taken name is found (they are this owner's, collected with it); a taken
   * name is still never written, and `beside` starts only after a first wave without conflicts.
   */
  async applyAll(objs: readonly KObject[], signal?: AbortSignal, cached: (o: KObject) => KObject | undefined = () => undefined,
    beside?: (firstWave: Promise<void>) => Promise<void>, createFirst = false): Promise<void> {
    // The reads at once (each is a round trip on a new job's path to its first pod).
    const rvs = await Promise.all(
      objs.map(async (o): Promise<{ rv?: string | undefined; conflict?: NameConflictError; create?: boolean }> => {
        const c = cached(o);
        if (c && ownershipOf(c, this.owner).state === 'ours') return {};
        if (createFirst) return { create: true };
        return this.readChecked(o, signal);
      }),
    );
    const conflicts = rvs.flatMap((r) => (r.conflict ? [r.conflict] : []));
    if (conflicts.length) throw allConflicts(conflicts);
    const taken: NameConflictError[] = [];
    const write = async (o: KObject, i: number) => {
      // The resourceVersion read above makes the apply conditional: a change in between is a 409, retried.
      let rv = rvs[i]!.rv;
      if (rvs[i]!.create) {
        try {
          await this.client.request('POST', resourcePath(o.apiVersion!, o.kind!, o.metadata?.namespace), { body: o, query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict' }, ...(signal ? { signal } : {}) });
          return;
        } catch (e) {
          if (!isAlreadyExists(e)) throw childWriteError('create', o, e);
        }
        const read = await this.readChecked(o, signal);
        if (read.conflict) {
          taken.push(read.conflict);
          return;
        }
        rv = read.rv;
      }
      const body = rv ? { ...o, metadata: { ...o.metadata, resourceVersion: rv } } : o;
      try {
        await this.client.apply(body, signal ? { signal } : {});
      } catch (e) {
        throw childWriteError('apply', o, e);
      }
    };
    // RoleBindings after everything else: the API server's escalation check reads the Role when a RoleBinding is
    // created, and answers 404 while that Role does not exist yet (seen with the chart's least-privilege account).
    // The rest at once, in order of the list for the lowest index's error to be the one reported.
    const waves = [objs.map((o, i) => [o, i] as const).filter(([o]) => o.kind !== 'RoleBinding'), objs.map((o, i) => [o, i] as const).filter(([o]) => o.kind === 'RoleBinding')];
    let firstDone!: (err?: unknown) => void;
    const firstWave = new Promise<void>((resolve, reject) => (firstDone = (err) => (err === undefined ? resolve() : reject(err))));
    firstWave.catch(() => undefined); // beside may not wait for it
    // Settled into a value at once: a rejection while the waves still run must not count as unhandled.
    const start = () => beside?.(firstWave).then(() => undefined, (e: unknown) => ({ e }));
    let alongside = createFirst ? undefined : start();
    let error: { e: unknown } | undefined;
    for (const [k, wave] of waves.entries()) {
      const results = await Promise.allSettled(wave.map(([o, i]) => write(o, i)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        error = { e: failed.reason };
        break;
      }
      if (taken.length) {
        // Every taken name is named at once: the later waves' objects are read and checked, not written.
        await Promise.all(waves.slice(k + 1).flat().map(async ([o]) => {
          const read = await this.readChecked(o, signal).catch(() => ({ conflict: undefined }));
          if (read.conflict) taken.push(read.conflict);
        }));
        error = { e: allConflicts(taken) };
        break;
      }
      if (k === 0) {
        firstDone();
        if (createFirst) alongside = start();
      }
    }
    firstDone(error ? error.e : undefined); // no-op once settled
    const besides = await alongside;
    if (error ?? besides) throw (error ?? besides)!.e;
  }

  /**
   * Creates a pod with strict field validation (an unknown template field such as `comand` is refused with its path,
   * not dropped). An existing pod of the name is returned when ours, else NameConflictError.
   */
  async createPod(pod: V1Pod, signal?: AbortSignal): Promise<V1Pod> {
    return this.create(pod as V1Pod & KObject, signal);
  }

  async create<T extends KObject>(obj: T, signal?: AbortSignal): Promise<T> {
    try {
      return await this.client.request<T>('POST', resourcePath(obj.apiVersion!, obj.kind!, obj.metadata?.namespace), {
        body: obj,
        query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict' },
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (!isAlreadyExists(e)) throw childWriteError('create', obj, e);
    }
    const live = await this.live(obj, signal);
    if (!live) throw childWriteError('create', obj, new Error('already exists, then gone')); // retried by the queue
    this.check(live);
    return live;
  }
}
