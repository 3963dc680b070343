// Stop strings on the detokenised text. Text that could still become a stop string is held back, so the client
// never sees a partial stop string; on a match the text is cut just before it (OpenAI semantics: the stop string
// itself is not returned).
export class StopMatcher {
  private pending = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Text safe to emit now; `stopped` when a stop string completed (emit is the text before it, then stop). */
  push(text: string): { emit: string; stopped: boolean } {
    if (this.stops.length === 0) return { emit: text, stopped: false };
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      const emit = this.pending.slice(0, cut);
      this.pending = '';
      return { emit, stopped: true };
    }
    const hold = this.heldSuffix();
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** At the end of generation: whatever was held back (it did not become a stop string). */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }

  /** Length of the longest suffix of pending that is a proper prefix of some stop string. */
  private heldSuffix(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > best; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
