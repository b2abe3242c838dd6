"""The PyTorch + PEFT reference for bench/train_step.rs: the same training steps, timed the same way.

    python bench/reference/train_step.py --model minilm|smollm2 \
        --method full|features|features-forward|lora|qlora [--steps N] [--warmup N] [--threads N] \
        [--batch N] [--len N]

Prints one JSON line (the same fields as the Rust side): median seconds per step over --steps timed
steps after --warmup untimed ones, tokens/s, peak resident memory of this process (VmHWM), and the
medians of the forward (to the loss), backward and optimiser parts. One configuration per process,
so peaks do not mix. bench/run-train-step runs both sides and prints the table.

Workloads (as in train_step.rs):
- all-MiniLM-L6-v2 (the fetched folder), batch 16 x 64, BertModel + mean pooling + a new 2-class
  linear head, training mode (dropout on). full: everything trains; lora: PEFT LoRA r 8, alpha 16,
  dropout 0.05 on query/key/value/attention output/intermediate/output dense, head trains too;
  features: the head alone over cached pooled features; features-forward: the frozen encoder's
  forward over one batch (no grad).
- SmolLM2-135M-Instruct from the fetched GGUF (Q4_1), dequantised to f32 by transformers once and
  cached as safetensors under ~/.cache/tunesmith/bench (loading the GGUF takes minutes), batch
  2 x 64, causal-LM loss on every position. full; lora (all attention and MLP projections);
  qlora: the same LoRA over bitsandbytes NF4 Linear4bit layers (f32 compute), as
  transformers' BitsAndBytesConfig(load_in_4bit) builds them: every decoder projection quantised,
  embeddings and the tied head left in f32. Needs bitsandbytes on PYTHONPATH.
AdamW (lr 1e-4, weight decay 0.01) over the trainable parameters only.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch


def peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def models_dir():
    return os.environ.get("TUNESMITH_MODELS", os.path.expanduser("~/.cache/tunesmith/models"))


def timed_steps(model_loss, opt, warmup, steps):
    """Warm-up steps, then timed ones. A step slower than SLOW seconds (bitsandbytes' CPU 4-bit
    path) cuts the warm-up to one step and the timed steps to those that fit in BUDGET seconds
    (at least one), so the whole table still runs in minutes."""
    slow, budget = 20.0, 60.0
    for i in range(warmup):
        if sum(step(model_loss, opt)) > slow:
            break
    times = []
    for _ in range(steps):
        times.append(step(model_loss, opt))
        if sum(sum(t) for t in times) > budget:
            break
    return times


def step(model_loss, opt):
    t0 = time.perf_counter()
    loss = model_loss()
    loss.item()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    opt.zero_grad(set_to_none=True)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def minilm(args):
    from transformers import AutoModel

    path = os.path.join(models_dir(), "all-MiniLM-L6-v2")
    b, s = args.batch or 16, args.len or 64
    enc = AutoModel.from_pretrained(path, dtype=torch.float32)
    head = torch.nn.Linear(enc.config.hidden_size, 2)
    torch.nn.init.normal_(head.weight, std=0.02)
    torch.nn.init.zeros_(head.bias)
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(1000, enc.config.vocab_size, (b, s), generator=g)
    ids[:, 0] = 101
    mask = torch.ones(b, s, dtype=torch.long)
    labels = torch.randint(0, 2, (b,), generator=g)

    def pooled(model):
        h = model(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)

    dropout = torch.nn.Dropout(enc.config.hidden_dropout_prob)
    times = []
    if args.method == "features-forward":
        enc.eval()
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            with torch.no_grad():
                pooled(enc).sum().item()
            if i >= args.warmup:
                times.append((time.perf_counter() - t0, 0.0, 0.0))
        return times, b * s, 0, "real (safetensors)"
    if args.method == "full":
        enc.train()
        params = list(enc.parameters()) + list(head.parameters())
        loss_fn = lambda: torch.nn.functional.cross_entropy(head(dropout(pooled(enc))), labels)
    elif args.method == "lora":
        from peft import LoraConfig, get_peft_model

        cfg = LoraConfig(
            r=8,
            lora_alpha=16,
            lora_dropout=0.05,
            target_modules=["query", "key", "value", "output.dense", "intermediate.dense"],
        )
        enc = get_peft_model(enc, cfg)
        enc.train()
        params = [p for p in enc.parameters() if p.requires_grad] + list(head.parameters())
        loss_fn = lambda: torch.nn.functional.cross_entropy(head(dropout(pooled(enc))), labels)
    elif args.method == "features":
        enc.eval()
        for p in enc.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            cached = pooled(enc)
        params = list(head.parameters())
        loss_fn = lambda: torch.nn.functional.cross_entropy(head(dropout(cached)), labels)
    else:
        raise SystemExit(f"MiniLM has no method `{args.method}` here")
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    times = timed_steps(loss_fn, opt, args.warmup, args.steps)
    return times, b * s, sum(p.numel() for p in params), "real (safetensors)"


def smollm2_f32():
    """The GGUF dequantised to f32 by transformers, cached as safetensors (loading GGUF is slow)."""
    from transformers import AutoModelForCausalLM

    cache = os.path.join(os.path.expanduser("~/.cache/tunesmith/bench"), "SmolLM2-135M-Instruct-f32")
    if not os.path.exists(os.path.join(cache, "config.json")):
        src = os.path.join(models_dir(), "SmolLM2-135M-Instruct")
        m = AutoModelForCausalLM.from_pretrained(
            src, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", dtype=torch.float32
        )
        # A GGUF-loaded model refuses save_pretrained; copy its weights into a plain one.
        from transformers import LlamaConfig, LlamaForCausalLM

        cfg = m.config.to_dict()
        cfg.pop("quantization_config", None)
        plain = LlamaForCausalLM(LlamaConfig.from_dict(cfg)).to(torch.float32)
        plain.load_state_dict(m.state_dict())
        plain.save_pretrained(cache)
        del m, plain
    return AutoModelForCausalLM.from_pretrained(cache, dtype=torch.float32)


def quantize_nf4(model, targets):
    """Replaces every targeted nn.Linear by a bitsandbytes NF4 Linear4bit with f32 compute."""
    import bitsandbytes as bnb

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear) and child_name in targets:
                q = bnb.nn.Linear4bit(
                    child.in_features,
                    child.out_features,
                    bias=child.bias is not None,
                    compute_dtype=torch.float32,
                    quant_type="nf4",
                )
                q.weight = bnb.nn.Params4bit(
                    child.weight.data, requires_grad=False, quant_type="nf4"
                )
                if child.bias is not None:
                    q.bias = torch.nn.Parameter(child.bias.data, requires_grad=False)
                q = q.to("cpu")
                setattr(module, child_name, q)
    return model


def smollm2(args):
    from peft import LoraConfig, get_peft_model

    b, s = args.batch or 2, args.len or 64
    model = smollm2_f32()
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    weights = "real GGUF Q4_1 -> f32 (transformers)"
    if args.method == "qlora":
        model = quantize_nf4(model, set(targets))
        weights += " -> bitsandbytes NF4"
    if args.method in ("lora", "qlora"):
        cfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=targets)
        model = get_peft_model(model, cfg)
    elif args.method != "full":
        raise SystemExit(f"SmolLM2 has no method `{args.method}` here")
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(100, model.config.vocab_size, (b, s), generator=g)
    loss_fn = lambda: model(input_ids=ids, labels=ids).loss
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    times = timed_steps(loss_fn, opt, args.warmup, args.steps)
    return times, b * s, sum(p.numel() for p in params), weights


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--method", default="full")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=0, help="rows per step (0: the model's default)")
    ap.add_argument("--len", type=int, default=0, help="tokens per row (0: the model's default)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("RAYON_NUM_THREADS", "2")))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    if args.model == "minilm":
        times, tokens, trainable, weights = minilm(args)
    elif args.model == "smollm2":
        times, tokens, trainable, weights = smollm2(args)
    else:
        raise SystemExit(f"unknown model `{args.model}` (minilm, smollm2)")
    total = statistics.median(sum(t) for t in times)
    out = {
        "side": "torch",
        "model": args.model,
        "method": args.method,
        "s_per_step": round(total, 5),
        "tokens_per_s": round(tokens / total, 1),
        "peak_mb": round(peak_mb(), 1),
        "trainable": trainable,
        "steps": len(times),
        "threads": torch.get_num_threads(),
        "weights": weights,
        "forward_s": round(statistics.median(t[0] for t in times), 5),
        "backward_s": round(statistics.median(t[1] for t in times), 5),
        "optim_s": round(statistics.median(t[2] for t in times), 5),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
