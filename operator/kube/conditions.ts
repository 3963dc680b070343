// Pure helpers for metav1.Condition lists: setCondition reports whether anything changed and keeps
// lastTransitionTime unless the status flips (Kubernetes API conventions).

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export function isTrue(list: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(list, type)?.status === 'True';
}

/**
 * Returns the new list (input untouched) and whether it differs. `now` stamps lastTransitionTime only when the
 * condition is new or its status changed.
 */
export function setCondition(
  list: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date,
): { conditions: Condition[]; changed: boolean } {
  const current = list ? [...list] : [];
  const i = current.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? current[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const merged: Condition = { ...next, lastTransitionTime };
  if (merged.observedGeneration === undefined) delete merged.observedGeneration;
  const changed =
    !prev ||
    prev.status !== merged.status ||
    prev.reason !== merged.reason ||
    prev.message !== merged.message ||
    prev.observedGeneration !== merged.observedGeneration;
  if (!changed) return { conditions: current, changed: false };
  if (i >= 0) current[i] = merged;
  else current.push(merged);
  return { conditions: current, changed: true };
}

export function removeCondition(list: readonly Condition[] | undefined, type: string): { conditions: Condition[]; changed: boolean } {
  const current = list ? list.filter((c) => c.type !== type) : [];
  return { conditions: current, changed: (list?.length ?? 0) !== current.length };
}
