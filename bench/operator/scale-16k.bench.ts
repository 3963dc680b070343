// The scale bench's 16,384-GPU mode as a bench of its own, so `make bench` (one run of each *.bench.js) reports it:
// a 2048-pod job on 2048 KWOK nodes against a bare loop (→ bench/results/operator-scale-16k.json). Same as
// MOE_BENCH_FLEET=16k node dist/bench/operator/scale.bench.js, but one round unless MOE_BENCH_ROUNDS says otherwise:
// on 2 shared cores one round took 26.5 min in all, most of it deleting 2048 pods three times (operator, two peers).
process.env.MOE_BENCH_FLEET = '16k';
process.env.MOE_BENCH_ROUNDS ??= '1';
await import('./scale.bench.js');
