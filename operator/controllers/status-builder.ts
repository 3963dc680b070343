// What every controller's status builder shares: a copy of the object's status stamped with the generation it
// describes, conditions set with transition times, the Valid/Invalid pair, and events collected for emission after
// the status write has succeeded.
import { ConditionType, Phase, Reason } from '../api/constants.js';
import { setCondition, type Condition } from '../kube/conditions.js';
import type { PendingEvent } from '../kube/events.js';
import type { WriteFailure } from './children.js';

/** The status fields the shared part touches (both CRDs name them alike). */
export interface ConditionedStatus {
  phase?: string;
  observedGeneration?: number;
  conditions?: unknown[];
}

export class StatusBuilderBase<S extends ConditionedStatus> {
  readonly status: S;
  readonly events: PendingEvent[] = [];
  protected readonly generation: number;

  constructor(
    obj: { metadata?: { generation?: number }; status?: S },
    protected readonly now: Date,
  ) {
    this.status = structuredClone(obj.status ?? ({} as S));
    this.generation = obj.metadata?.generation ?? 0;
    this.status.observedGeneration = this.generation;
  }

  condition(type: string, status: boolean, reason: string, message = ''): boolean {
    const r = setCondition(this.status.conditions as Condition[] | undefined, { type, status: status ? 'True' : 'False', reason, message, observedGeneration: this.generation }, this.now);
    this.status.conditions = r.conditions;
    return r.changed;
  }

  event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }

  /** What only code can check is wrong: condition Valid=False (event on the flip) and phase Invalid. */
  invalid(messages: string[]): void {
    const msg = messages.join('; ');
    if (this.condition(ConditionType.Valid, false, Reason.InvalidSpec, msg)) this.event('Warning', Reason.InvalidSpec, msg);
    (this.status as ConditionedStatus).phase = Phase.Invalid;
  }

  valid(): void {
    this.condition(ConditionType.Valid, true, Reason.SpecValid);
  }

  /** A child could not be written (name taken, or refused by the API server): a condition, and a warning on a change. */
  writeFailed(f: WriteFailure): void {
    if (this.condition(f.condition, true, f.reason, f.message.slice(0, 2000)) && !f.transient) this.event('Warning', f.reason, f.message);
  }

  /** The writes went through: a NameConflict or WriteFailed condition still True flips to False. */
  writesSucceeded(): void {
    for (const type of [ConditionType.NameConflict, ConditionType.WriteFailed]) {
      const c = (this.status.conditions as Condition[] | undefined)?.find((x) => x.type === type);
      if (c?.status !== 'True') continue;
      this.condition(type, false, Reason.ChildrenWritten, `resolved: ${c.message}`.slice(0, 1000));
      this.event('Normal', Reason.ChildrenWritten, `${type} resolved; the operator's writes went through`);
    }
  }
}
