// Imported first by the entrypoints: every Gloo wait (a posted send or receive, a collective) holds one libuv pool
// thread until it completes, and overlapped pipeline chunks keep more of them in flight than libuv's default 4 —
// a full pool would queue the collective a peer is waiting on behind waits on that peer. libuv reads the variable
// when the pool first starts, which is after the first module ran (checked on Node 24).
process.env.UV_THREADPOOL_SIZE ??= '32';
export const threadpoolSize = Number(process.env.UV_THREADPOOL_SIZE);
