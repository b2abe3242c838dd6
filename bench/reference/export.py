"""The reference side of bench/run-export: PEFT's merge of an adapter into its base, saved as a
transformers folder (safetensors), timed and with peak memory, as `tunesmith export --format
merged` does it.

    python bench/reference/export.py --base BASE --adapter DIR --out NEW_FOLDER [--dtype bfloat16]

BASE is a transformers folder or a .gguf file (transformers dequantises it). Prints one JSON line:
{"side": "pytorch", "load_s", "merge_s", "save_s", "total_s", "peak_mb"}.
"""

import argparse
import json
import os
import resource
import time

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))

    t0 = time.perf_counter()
    if args.base.endswith(".gguf"):
        base = AutoModelForCausalLM.from_pretrained(
            os.path.dirname(args.base), gguf_file=os.path.basename(args.base), dtype=torch.float32
        )
    else:
        base = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, args.adapter)
    t1 = time.perf_counter()
    merged = model.merge_and_unload().to(getattr(torch, args.dtype))
    t2 = time.perf_counter()
    # A GGUF base is dequantised on load, but transformers still marks it "quantized with gguf" and
    # refuses to save it; the weights are plain tensors by now, so drop the mark.
    if getattr(merged, "hf_quantizer", None) is not None:
        merged.hf_quantizer = None
        if hasattr(merged.config, "quantization_config"):
            del merged.config.quantization_config
    merged.save_pretrained(args.out, safe_serialization=True)
    t3 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "side": "pytorch",
        "load_s": t1 - t0,
        "merge_s": t2 - t1,
        "save_s": t3 - t2,
        "total_s": t3 - t0,
        "peak_mb": peak_mb,
    }))


if __name__ == "__main__":
    main()
