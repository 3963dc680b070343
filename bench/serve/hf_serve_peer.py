"""transformers' DeepseekV3ForCausalLM with its KV cache, as the serving peer of peer.bench.ts. Needs torch.

  python hf_serve_peer.py MODEL_DIR THREADS
Loads the export folder with from_pretrained in float32 (FP8 blocks dequantised), then answers one JSON command per
stdin line with one JSON line:
  {"op": "decode", "prompts": [[ids]...], "steps": N}   prefill the batch (not timed), then N greedy decode steps
                                                         with the DynamicCache, timed: wall and process CPU seconds
  {"op": "prefill", "prompts": [[ids]...]}              one batched forward over the prompts with use_cache (the
                                                         last position's logits, as generate() asks), timed
Greedy picks the argmax over the first `vocab` ids (the tokenizer's), as the engine does.
"""
import json
import sys
import time

import torch
from transformers import DeepseekV3ForCausalLM


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main():
    folder, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    model = DeepseekV3ForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        vocab = cmd.get("vocab", model.config.vocab_size)
        ids = torch.tensor(cmd["prompts"], dtype=torch.long)
        with torch.inference_mode():
            if cmd["op"] == "prefill":
                _, wall, cpu = timed(lambda: model(ids, use_cache=True, logits_to_keep=1))
                print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)
            elif cmd["op"] == "decode":
                out = model(ids, use_cache=True, logits_to_keep=1)
                cache = out.past_key_values
                nxt = out.logits[:, -1, :vocab].argmax(-1, keepdim=True)
                tokens = [nxt[:, 0].tolist()]

                def loop():
                    nonlocal cache, nxt
                    for _ in range(cmd["steps"]):
                        o = model(nxt, past_key_values=cache, use_cache=True)
                        cache = o.past_key_values
                        nxt = o.logits[:, -1, :vocab].argmax(-1, keepdim=True)
                        tokens.append(nxt[:, 0].tolist())

                _, wall, cpu = timed(loop)
                print(json.dumps({"wall": wall, "cpu": cpu, "tokens": tokens}), flush=True)
            else:
                raise SystemExit(f"unknown op {cmd['op']}")


main()
