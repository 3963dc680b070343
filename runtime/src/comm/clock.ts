// How long this process had communication in flight (the union over every group and operation, from issue to
// completion), so that the pipeline can report how much of it its compute hid: the exposed part is the event loop's
// idle time (the JS thread waits only on communication during the pipeline phase: every kernel there is synchronous).

let inFlight = 0;
let since = 0;
let busyMs = 0;

/** Marks an operation issued; `done` marks it complete (call it once). */
export function commBegin(): () => void {
  if (inFlight++ === 0) since = performance.now();
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--inFlight === 0) busyMs += performance.now() - since;
  }
}

/** Milliseconds with at least one operation in flight so far (including the current stretch). */
export function commBusyMs(): number {
  return busyMs + (inFlight > 0 ? performance.now() - since : 0);
}
