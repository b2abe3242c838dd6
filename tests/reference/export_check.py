"""Checks Tunesmith's exports against the reference implementations (not a CI test: it needs
PyTorch, transformers, PEFT and llama-cpp-python; see tests/reference/README.md).

    python tests/reference/export_check.py --merged DIR --gguf FILE [--base BASE --adapter DIR] \
        [--prompt TEXT] [--new 16] [--chat]

- transformers loads the merged folder (config.json, model.safetensors, tokenizer files) as it is;
- with --base and --adapter, PEFT applies the exported adapter to the base (a transformers folder,
  or a .gguf file that transformers dequantises) and its logits are compared with the merged folder's;
- llama.cpp loads the GGUF: its tokenisation of the prompt must equal the exported tokenizer's, and
  its logits are compared with the merged folder's;
- both greedy-decode --new tokens from the prompt (--chat: wrapped in the model's chat template).

Prints one JSON object with the differences and the two answers.
"""

import argparse
import json
import os

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--merged", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--base")
    ap.add_argument("--adapter")
    ap.add_argument("--prompt", default="What is the code word for project Alder?")
    ap.add_argument("--new", type=int, default=16)
    ap.add_argument("--chat", action="store_true", help="wrap the prompt in the model's chat template")
    args = ap.parse_args()

    out = {}
    tok = AutoTokenizer.from_pretrained(args.merged)
    if args.chat:
        text = tok.apply_chat_template([{"role": "user", "content": args.prompt}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
    else:
        text = args.prompt
        ids = tok(text, add_special_tokens=True)["input_ids"]
    out["prompt_tokens"] = len(ids)
    merged = AutoModelForCausalLM.from_pretrained(args.merged, dtype=torch.float32).eval()
    with torch.no_grad():
        ref = merged(torch.tensor([ids])).logits[0].numpy()
        greedy = merged.generate(torch.tensor([ids]), max_new_tokens=args.new, do_sample=False)
    out["transformers_answer"] = tok.decode(greedy[0][len(ids):], skip_special_tokens=True)

    if args.base and args.adapter:
        from peft import PeftModel

        if args.base.endswith(".gguf"):
            base = AutoModelForCausalLM.from_pretrained(
                os.path.dirname(args.base), gguf_file=os.path.basename(args.base), dtype=torch.float32
            )
        else:
            base = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32)
        peft = PeftModel.from_pretrained(base, args.adapter).eval()
        with torch.no_grad():
            p = peft(torch.tensor([ids])).logits[0].numpy()
        out["peft_vs_merged_max_abs"] = float(np.abs(p - ref).max())
        out["peft_vs_merged_max_rel"] = float(np.abs(p - ref).max() / np.abs(p).max())
    else:
        p = None

    from llama_cpp import Llama

    llm = Llama(model_path=args.gguf, n_ctx=128, logits_all=True, verbose=False, n_threads=2)
    add_bos = not args.chat and tok.bos_token is not None and ids[:1] == [tok.bos_token_id]
    cpp_ids = llm.tokenize(text.encode(), add_bos=add_bos, special=True)
    out["llama_cpp_tokens_equal"] = cpp_ids == ids
    llm.reset()
    llm.eval(ids)
    cpp = np.array(llm.scores[: len(ids)])
    out["llama_cpp_vs_merged_max_abs"] = float(np.abs(cpp - ref).max())
    out["llama_cpp_vs_merged_max_rel"] = float(np.abs(cpp - ref).max() / np.abs(ref).max())
    out["llama_cpp_argmax_equal"] = bool((cpp.argmax(-1) == ref.argmax(-1)).all())
    if p is not None:
        out["llama_cpp_vs_peft_max_rel"] = float(np.abs(cpp - p).max() / np.abs(p).max())
        out["llama_cpp_vs_peft_last_position_argmax_equal"] = bool(cpp[-1].argmax() == p[-1].argmax())
    llm.reset()
    gen = []
    for t in llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0):
        if t == llm.token_eos() or len(gen) >= args.new:
            break
        gen.append(t)
    out["llama_cpp_answer"] = tok.decode(gen, skip_special_tokens=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
