"""NumPy port of deepseek-ai/EPLB's rebalance_experts, written tensor-op for tensor-op like the reference (sort,
gather, scatter, inverse permutations) so it cross-checks the loop-based TypeScript in operator/plan/eplb.ts.

Usage:
  python eplb_ref.py            stdin: {"load": [[...]], "replicas": R, "groups": G, "nodes": N, "gpus": P} (or a list)
                                stdout: {"phy2log": ..., "log2phy": ..., "logcnt": ...} (or a list)
  python eplb_ref.py --bench R G N P    stdin: load [[...]]; stdout: {"medianMs": ..., "runs": ...}
Float32 throughout, like the reference's weight.float(); ties: stable sort (first index wins), first min/max.
"""
import json
import sys
import time

import numpy as np


def balanced_packing(weight, num_packs):
    num_layers, num_groups = weight.shape
    assert num_groups % num_packs == 0
    per = num_groups // num_packs
    if per == 1:
        return np.broadcast_to(np.arange(num_groups), weight.shape).copy(), np.zeros(weight.shape, dtype=np.int64)
    order = np.argsort(-weight, axis=-1, kind="stable")
    pack_index = np.full(weight.shape, -1, dtype=np.int64)
    rank_in_pack = np.full(weight.shape, -1, dtype=np.int64)
    for i in range(num_layers):
        pack_weights = [np.float32(0)] * num_packs
        pack_items = [0] * num_packs
        for group in order[i]:
            pack = min((p for p in range(num_packs) if pack_items[p] < per), key=pack_weights.__getitem__)
            pack_index[i, group] = pack
            rank_in_pack[i, group] = pack_items[pack]
            pack_weights[pack] = np.float32(pack_weights[pack] + weight[i, group])
            pack_items[pack] += 1
    return pack_index, rank_in_pack


def replicate_experts(weight, num_phy):
    n, num_log = weight.shape
    assert num_phy >= num_log
    phy2log = np.tile(np.arange(num_phy, dtype=np.int64), (n, 1))
    rank = np.zeros((n, num_phy), dtype=np.int64)
    logcnt = np.ones((n, num_log), dtype=np.int64)
    rows = np.arange(n)
    for i in range(num_log, num_phy):
        idx = np.argmax(weight / logcnt.astype(np.float32), axis=-1)
        phy2log[:, i] = idx
        rank[:, i] = logcnt[rows, idx]
        logcnt[rows, idx] += 1
    return phy2log, rank, logcnt


def inverse(perm):
    inv = np.empty_like(perm)
    np.put_along_axis(inv, perm, np.broadcast_to(np.arange(perm.shape[1]), perm.shape), axis=1)
    return inv


def hierarchical(weight, num_phy, num_groups, num_nodes, num_gpus):
    num_layers, num_log = weight.shape
    assert num_log % num_groups == 0 and num_groups % num_nodes == 0
    assert num_gpus % num_nodes == 0 and num_phy % num_gpus == 0
    group_size = num_log // num_groups
    groups_per_node = num_groups // num_nodes
    per_gpu = num_phy // num_gpus

    tokens_per_group = weight.reshape(num_layers, num_groups, group_size).sum(-1, dtype=np.float32)
    gpack, grank = balanced_packing(tokens_per_group, num_nodes)
    log2mlog = (((gpack * groups_per_node + grank) * group_size)[..., None] + np.arange(group_size)).reshape(num_layers, -1)
    mlog2log = inverse(log2mlog)

    tokens_per_mlog = np.take_along_axis(weight, mlog2log, -1).reshape(-1, num_log // num_nodes)
    phy2mlog, phyrank, mlogcnt = replicate_experts(tokens_per_mlog, num_phy // num_nodes)

    tokens_per_phy = np.take_along_axis(tokens_per_mlog / mlogcnt.astype(np.float32), phy2mlog, -1)
    pack_index, rank_in_pack = balanced_packing(tokens_per_phy, num_gpus // num_nodes)
    phy2pphy = pack_index * per_gpu + rank_in_pack
    pphy2phy = inverse(phy2pphy)

    pphy2mlog = np.take_along_axis(phy2mlog, pphy2phy, -1)
    pphy2mlog = (pphy2mlog.reshape(num_layers, num_nodes, -1) + np.arange(0, num_log, num_log // num_nodes).reshape(1, -1, 1)).reshape(num_layers, -1)
    pphy2log = np.take_along_axis(mlog2log, pphy2mlog, -1)
    pphyrank = np.take_along_axis(phyrank, pphy2phy, -1).reshape(num_layers, -1)
    logcnt = np.take_along_axis(mlogcnt.reshape(num_layers, -1), log2mlog, -1)
    return pphy2log, pphyrank, logcnt


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = np.asarray(weight, dtype=np.float32)
    num_layers, num_log = weight.shape
    if num_groups % num_nodes == 0:
        phy2log, phyrank, logcnt = hierarchical(weight, num_replicas, num_groups, num_nodes, num_gpus)
    else:
        phy2log, phyrank, logcnt = hierarchical(weight, num_replicas, 1, 1, num_gpus)
    maxcnt = int(logcnt.max())
    log2phy = np.full((num_layers, num_log * maxcnt), -1, dtype=np.int64)
    np.put_along_axis(log2phy, phy2log * maxcnt + phyrank, np.broadcast_to(np.arange(num_replicas), phy2log.shape), axis=1)
    return phy2log, log2phy.reshape(num_layers, num_log, maxcnt), logcnt


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--bench":
        r, g, n, p = (int(x) for x in sys.argv[2:6])
        load = json.load(sys.stdin)
        for _ in range(2):
            rebalance_experts(load, r, g, n, p)
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            rebalance_experts(load, r, g, n, p)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(json.dumps({"medianMs": round(times[len(times) // 2], 2), "runs": len(times), "numpy": np.__version__}))
        return
    req = json.load(sys.stdin)
    out = []
    for r in req if isinstance(req, list) else [req]:
        phy2log, log2phy, logcnt = rebalance_experts(r["load"], r["replicas"], r["groups"], r["nodes"], r["gpus"])
        out.append({"phy2log": phy2log.tolist(), "log2phy": log2phy.tolist(), "logcnt": logcnt.tolist()})
    print(json.dumps(out if isinstance(req, list) else out[0]))


if __name__ == "__main__":
    main()
