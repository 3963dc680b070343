"""PyTorch CPU peer of the runtime's DeepSeek-V3-style model, for the training-throughput benchmark.

Same architecture as runtime/src/model (MLA with q/kv LoRA, latent RMSNorms and a decoupled RoPE key shared by the
heads; dense SwiGLU layers then DeepSeekMoE layers with sigmoid group-limited top-k routing, bias, routed scaling
and a shared expert; MTP depth D; shared embedding/head), float32, AdamW. Reads the config and run shape as JSON
on stdin, prints one JSON line: {"tokens_per_sec", "step_seconds", "losses", "threads", "torch"}.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def lin(i, o):
    return nn.Linear(i, o, bias=False)


def rope(x, theta):
    # x [..., S, dr], adjacent pairs rotated by pos * theta^(-2c/dr)
    S, dr = x.shape[-2], x.shape[-1]
    freqs = theta ** (-torch.arange(0, dr, 2, dtype=torch.float32) / dr)
    ang = torch.arange(S, dtype=torch.float32)[:, None] * freqs[None, :]
    cos, sin = ang.cos(), ang.sin()
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)


class MLA(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, H = c["hidden_size"], c["num_attention_heads"]
        self.H, self.dn, self.dr, self.dv = H, c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        self.kr, self.theta = c["kv_lora_rank"], c["rope_theta"]
        qk = self.dn + self.dr
        self.q_a = lin(d, c["q_lora_rank"])
        self.q_norm = RMSNorm(c["q_lora_rank"], c["rms_norm_eps"])
        self.q_b = lin(c["q_lora_rank"], H * qk)
        self.kv_a = lin(d, self.kr + self.dr)
        self.kv_norm = RMSNorm(self.kr, c["rms_norm_eps"])
        self.kv_b = lin(self.kr, H * (self.dn + self.dv))
        self.o = lin(H * self.dv, d)
        self.scale = 1 / math.sqrt(qk)

    def forward(self, x):
        B, S, _ = x.shape
        q = self.q_b(self.q_norm(self.q_a(x))).view(B, S, self.H, self.dn + self.dr).transpose(1, 2)
        q_nope, q_pe = q[..., : self.dn], rope(q[..., self.dn:], self.theta)
        kva = self.kv_a(x)
        k_pe = rope(kva[..., self.kr:], self.theta)[:, None]  # [B,1,S,dr]
        kv = self.kv_b(self.kv_norm(kva[..., : self.kr])).view(B, S, self.H, self.dn + self.dv).transpose(1, 2)
        k_nope, v = kv[..., : self.dn], kv[..., self.dn:]
        scores = (q_nope @ k_nope.transpose(-1, -2) + q_pe @ k_pe.transpose(-1, -2)) * self.scale
        mask = torch.ones(S, S, dtype=torch.bool).triu(1)
        p = scores.masked_fill(mask, float("-inf")).softmax(-1)
        return self.o((p @ v).transpose(1, 2).reshape(B, S, self.H * self.dv))


class FFN(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.g, self.u, self.dn = lin(d, inner), lin(d, inner), lin(inner, d)

    def forward(self, x):
        return self.dn(F.silu(self.g(x)) * self.u(x))


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.E, self.K = c["n_routed_experts"], c["num_experts_per_tok"]
        self.G, self.TG, self.scale = c["n_group"], c["topk_group"], c["routed_scaling_factor"]
        self.gate = lin(d, self.E)
        self.register_buffer("bias", torch.zeros(self.E))
        self.experts = nn.ModuleList([FFN(d, c["moe_intermediate_size"]) for _ in range(self.E)])
        self.shared = FFN(d, c["n_shared_experts"] * c["moe_intermediate_size"])

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        s = torch.sigmoid(self.gate(x))
        biased = s.detach() + self.bias
        g = biased.view(-1, self.G, self.E // self.G).topk(2, dim=-1).values.sum(-1)
        keep = torch.zeros_like(g).scatter_(1, g.topk(self.TG, dim=-1).indices, 1.0)
        masked = biased.masked_fill(keep.repeat_interleave(self.E // self.G, dim=1) == 0, float("-inf"))
        idx = masked.topk(self.K, dim=-1).indices
        w = s.gather(1, idx)
        w = w / w.sum(-1, keepdim=True) * self.scale
        y = self.shared(x)
        for e in range(self.E):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if rows.numel():
                y = y.index_add(0, rows, self.experts[e](x[rows]) * w[rows, slot, None])
        return y.view(shape)


class Block(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        self.n1, self.n2 = RMSNorm(c["hidden_size"], c["rms_norm_eps"]), RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.attn = MLA(c)
        self.mlp = MoE(c) if moe else FFN(c["hidden_size"], c["intermediate_size"])

    def forward(self, h):
        h = h + self.attn(self.n1(h))
        return h + self.mlp(self.n2(h))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, L = c["hidden_size"], c["num_hidden_layers"]
        self.c = c
        self.emb = nn.Embedding(c["vocab_size"], d)
        self.layers = nn.ModuleList([Block(c, l >= c["first_k_dense_replace"]) for l in range(L)])
        self.norm = RMSNorm(d, c["rms_norm_eps"])
        self.head = lin(d, c["vocab_size"])
        D = c["num_nextn_predict_layers"]
        self.mtp = nn.ModuleList([nn.ModuleDict({
            "enorm": RMSNorm(d, c["rms_norm_eps"]), "hnorm": RMSNorm(d, c["rms_norm_eps"]), "eh": lin(2 * d, d),
            "block": Block(c, True), "norm": RMSNorm(d, c["rms_norm_eps"])}) for _ in range(D)])
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=c["initializer_range"])

    def loss(self, tok, S, lam):
        V = self.c["vocab_size"]
        h = self.emb(tok[:, :S])
        for blk in self.layers:
            h = blk(h)
        main = F.cross_entropy(self.head(self.norm(h)).reshape(-1, V), tok[:, 1:S + 1].reshape(-1))
        mtp = 0.0
        for k, m in enumerate(self.mtp):
            e = self.emb(tok[:, k + 1:k + 1 + S])
            h = m["block"](m["eh"](torch.cat([m["enorm"](e), m["hnorm"](h)], -1)))
            mtp = mtp + F.cross_entropy(self.head(m["norm"](h)).reshape(-1, V), tok[:, k + 2:k + 2 + S].reshape(-1)) / len(self.mtp)
        return main + lam * mtp, main


def main():
    spec = json.loads(sys.stdin.read())
    c, B, S, steps, threads = spec["config"], spec["batch"], spec["seqLen"], spec["steps"], spec["threads"]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model(c)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    W = S + 1 + c["num_nextn_predict_layers"]
    data = torch.tensor(spec["tokens"], dtype=torch.long)
    times, losses = [], []
    for i in range(steps):
        start = (i * B * W) % max(1, data.numel() - B * W)
        tok = data[start:start + B * W].view(B, W)
        t0 = time.perf_counter()
        opt.zero_grad()
        loss, main_loss = model.loss(tok, S, spec["mtpLambda"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(float(main_loss))
    steady = sorted(times[1:] or times)
    med = steady[len(steady) // 2]
    print(json.dumps({"tokens_per_sec": B * S / med, "step_seconds": med, "losses": losses, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
