# Peer of the collectives benchmark: the same operations through torch.distributed's Gloo backend (the library
# PyTorch relies on for CPU collectives), same sizes, iterations and world size; rank 0 prints median seconds.
import json
import os
import statistics
import time

import torch
import torch.distributed as dist

sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "65536,1048576,16777216").split(",")]
iters = int(os.environ.get("BENCH_ITERS", "10"))
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
dist.init_process_group(
    "gloo", init_method=f"tcp://{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}", rank=rank, world_size=world
)
out = {"allreduce": {}, "alltoallv": {}}
for nbytes in sizes:
    buf = torch.ones(nbytes // 4, dtype=torch.float32)
    times = []
    for i in range(iters + 2):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buf)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    out["allreduce"][str(nbytes)] = statistics.median(times)
    inp = torch.zeros(nbytes, dtype=torch.uint8)
    outp = torch.zeros(nbytes, dtype=torch.uint8)
    split = [nbytes // world] * world
    times = []
    for i in range(iters + 2):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_to_all_single(outp, inp, split, split)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    out["alltoallv"][str(nbytes)] = statistics.median(times)
if rank == 0:
    print(json.dumps(out), flush=True)
dist.destroy_process_group()
