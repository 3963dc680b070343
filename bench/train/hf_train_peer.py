"""transformers' DeepseekV3ForCausalLM trained on CPU: the training benchmark's peer (train.bench.ts).

Reads JSON on stdin: {"config": the HF config.json of our model (toHfConfig), "batch", "seqLen", "steps", "threads",
"dtype": "float32" | "bfloat16", "tokens": [...]}. Runs `steps` steps of forward + backward + global-norm clipping +
AdamW (the same work as our trainer's step with MTP off: transformers has no MTP module) and prints one JSON line:
{"tokens_per_sec", "step_seconds", "cpu_seconds_per_step", "tokens_per_cpu_sec", "losses", "threads", "torch",
"transformers", "dtype"}. The first step is warm-up; the times are medians of the rest (CPU: the process's, every
thread).
"""
import json
import sys
import time

import torch
import transformers
from transformers import DeepseekV3Config, DeepseekV3ForCausalLM


def main():
    spec = json.loads(sys.stdin.read())
    B, S, steps, threads = spec["batch"], spec["seqLen"], spec["steps"], spec["threads"]
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[spec["dtype"]]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = DeepseekV3Config(**spec["config"])
    model = DeepseekV3ForCausalLM(cfg).to(dtype).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    data = torch.tensor(spec["tokens"], dtype=torch.long)
    W = S + 1
    times, cpu, losses = [], [], []
    for i in range(steps):
        start = (i * B * W) % max(1, data.numel() - B * W)
        tok = data[start:start + B * W].view(B, W)
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=tok[:, :S]).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tok[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        losses.append(loss.item())
    steady = sorted(times[1:] or times)
    med = steady[len(steady) // 2]
    steady_cpu = sorted(cpu[1:] or cpu)
    med_cpu = steady_cpu[len(steady_cpu) // 2]
    print(json.dumps({"tokens_per_sec": B * S / med, "step_seconds": med, "cpu_seconds_per_step": med_cpu,
                      "tokens_per_cpu_sec": B * S / med_cpu, "losses": losses, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "transformers": transformers.__version__, "dtype": spec["dtype"]}))


if __name__ == "__main__":
    main()
