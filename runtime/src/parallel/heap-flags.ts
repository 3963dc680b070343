// V8 flags for a training rank, set before the step's first tensor (main.ts imports this right after
// comm/threadpool.js; V8 reads both flags at each collection, so setting them at run time takes effect).
// A step allocates its activations, gradients and messages as fresh typed arrays, and the JS objects around them
// (promises of the pipeline's sends and receives, closures of the backward) outlive a few scavenges. With V8's
// defaults the demo's ranks (a ~32 MB JS heap each) ran a full mark-compact every ~0.5 s: the old generation's limit
// sits just above the live heap, and external memory triggers one per ~64 MB allocated; the concurrent marking and
// sweeping took about as much CPU as the ranks' main threads. Here external memory counts in V8's global limit, which
// grows with the heap like any allocation, and the heap may grow to 4× its live size before the next full collection:
// with --trace-gc, 3 mark-compacts per rank in a 6-step demo launch, all during start-up (dist-step bench, README).
import v8 from 'node:v8';

export const HEAP_FLAGS = ['--external-memory-accounted-in-global-limit', '--heap-growing-percent=300'] as const;

for (const f of HEAP_FLAGS) v8.setFlagsFromString(f);
