"""transformers' DeepseekV3ForCausalLM for the interop benchmark (hf-interop.bench.ts). Needs torch.

  save-random DIR CONFIG_JSON SEED   a random model with this config (router biases and norms drawn too), save_pretrained(DIR)
  logits DIR IDS_JSON                from_pretrained(DIR) in float32 (an FP8 export is dequantised): logits at every position
"""
import json
import sys

import torch
from transformers import DeepseekV3Config, DeepseekV3ForCausalLM


def main():
    mode = sys.argv[1]
    if mode == "save-random":
        folder, cfg, seed = sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
        torch.manual_seed(seed)
        model = DeepseekV3ForCausalLM(DeepseekV3Config(**cfg)).eval()
        with torch.no_grad():
            # state_dict holds the parameters and the buffers (the router bias is a buffer), as live tensors.
            for name, p in model.state_dict().items():
                # Defaults leave the router bias at 0 and the norms at 1; draw them so a wrong reading shows.
                if "e_score_correction_bias" in name:
                    p.copy_(torch.randn_like(p) * 0.1)
                elif "norm" in name:
                    p.copy_(1 + torch.randn_like(p) * 0.1)
                else:
                    p.copy_(torch.randn_like(p) * 0.05)
        model.save_pretrained(folder)
        print(json.dumps({"saved": folder}))
    elif mode == "logits":
        folder, ids = sys.argv[2], json.load(open(sys.argv[3]))
        model = DeepseekV3ForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
        print(json.dumps({"logits": logits.flatten().tolist(), "vocab": logits.shape[-1]}))
    else:
        raise SystemExit(f"unknown mode {mode}")


main()
