"""The HuggingFace side of the tokenizer interop test (hf-tokenizer.test.ts), with `tokenizers` and `transformers`
from PyPI.

  encode TOKENIZER_JSON TEXTS_JSON      ids of every text (no special tokens added), and the decode of each
  train KIND CORPUS OUT_JSON            a byte-level BPE trained by `tokenizers` (KIND: gpt2 | deepseek), with added tokens
  folder FOLDER TEXTS_JSON MESSAGES_JSON  transformers' AutoConfig and AutoTokenizer from an export FOLDER: config
                                        fields, ids of every text, and apply_chat_template(messages)
"""
import json
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

# DeepSeek-V3's released pre-tokenizer: digits in runs of at most three, CJK runs, then a GPT-style split.
DEEPSEEK_SPLITS = [
    r"\p{N}{1,3}",
    r"[一-龥\u3040-ゟ゠-ヿ]+",
    r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
]
SPECIALS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"]


def main():
    mode = sys.argv[1]
    if mode == "encode":
        tok = Tokenizer.from_file(sys.argv[2])
        texts = json.load(open(sys.argv[3], encoding="utf8"))
        out = []
        for t in texts:
            ids = tok.encode(t, add_special_tokens=False).ids
            out.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
        print(json.dumps(out))
    elif mode == "train":
        kind, corpus, out = sys.argv[2], sys.argv[3], sys.argv[4]
        tok = Tokenizer(models.BPE())
        if kind == "gpt2":
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        else:
            tok.pre_tokenizer = pre_tokenizers.Sequence(
                [pre_tokenizers.Split(Regex(p), behavior="isolated") for p in DEEPSEEK_SPLITS]
                + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
            )
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=600, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
        )
        tok.train([corpus], trainer)
        tok.save(out)
        print(json.dumps({"vocab": tok.get_vocab_size()}))
    elif mode == "folder":
        from transformers import AutoConfig, AutoTokenizer

        folder = sys.argv[2]
        cfg = AutoConfig.from_pretrained(folder)
        tok = AutoTokenizer.from_pretrained(folder)
        texts = json.load(open(sys.argv[3], encoding="utf8"))
        messages = json.load(open(sys.argv[4], encoding="utf8"))
        keys = ["model_type", "num_key_value_heads", "num_attention_heads", "q_lora_rank", "kv_lora_rank", "hidden_size",
                "max_position_embeddings", "n_routed_experts", "num_experts_per_tok", "routed_scaling_factor", "head_dim"]
        print(json.dumps({
            "config": {k: getattr(cfg, k, None) for k in keys},
            "rope": getattr(cfg, "rope_parameters", None),
            "tokenizer_class": type(tok).__name__,
            "ids": [tok(t, add_special_tokens=False)["input_ids"] for t in texts],
            "chat": tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
        }))
    else:
        raise SystemExit(f"unknown mode {mode}")


main()
