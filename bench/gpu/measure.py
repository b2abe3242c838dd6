#!/usr/bin/env python3
"""Measures the CUDA build on the GPU it runs on; called by bench/gpu/run (read that first).

Everything it needs is made here: random weights of each model's real shape (numpy only, written as
safetensors: an 8-byte header length, a JSON header, raw bytes), prompt/response and text/label CSVs,
and one run of the project's own CLI per configuration. What it reports, per configuration:

- training tokens/s: the median of the CLI's per-step `tokens_per_s` after the first step (the first
  pays for kernel loading and allocation), and the step count it is taken over;
- peak GPU memory: the largest `memory.used` that `nvidia-smi` reports while the run lasts, minus
  what was in use before it started (one process on the GPU at a time);
- generation tokens/s: the `tokens_per_s` that `tunesmith chat --json` reports for a 256-token
  answer of the SmolLM2-135M shape;
- CPU-vs-CUDA agreement on the committed tiny Llama fixture: the first step's loss and the base
  evaluation loss on both devices;
- each shape's parameter count, checked against the model card's before anything is written (a dry
  run on a CPU checks every shape without writing the large ones);
- the precision the runs used (`--precision`, passed only when the CLI has the flag) and the
  verdict of the QLoRA CUDA-vs-CPU test that bench/gpu/run runs first.

The decoders share SmolLM2's tokenizer (its ids fit every vocabulary here): the tokenizer changes
which ids a row becomes, not the shapes or the cost of a step.
"""

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# (name, model folder, task, method, batch, max_len); the order is the priority when time runs out.
RUNS = [
    ("smollm2-135m", "lora", 8, 512),
    ("smollm2-135m", "full", 8, 512),
    ("smollm2-135m", "qlora", 8, 512),
    ("minilm-l6", "full", 32, 128),
    ("qwen2.5-0.5b", "lora", 8, 512),
    ("qwen2.5-0.5b", "full", 8, 512),
    ("qwen2.5-0.5b", "qlora", 8, 512),
    ("llama-3.2-1b", "lora", 8, 512),
    ("llama-3.2-1b", "full", 8, 512),
    ("llama-3.2-1b", "qlora", 8, 512),
    ("minilm-l6", "lora", 32, 128),
]

# Each shape's published parameter count (the model cards' safetensors totals): the tensor lists
# below must add up to exactly these, so a wrong shape is caught before any weight is written.
PARAMETERS = {
    "smollm2-135m": 134_515_008,
    "qwen2.5-0.5b": 494_032_768,
    "llama-3.2-1b": 1_235_814_400,
    "minilm-l6": 22_713_216,
}

WORDS = (
    "the clinic opens at eight and closes at six on weekdays while the vet sees cats dogs and rabbits "
    "a regular consultation costs fifty eight euros and vaccinations are booked online or by phone "
    "our team answers questions about food allergies dental care and travel papers for pets"
).split()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- weights

def bf16_bytes(a):
    """float32 array -> bf16 bytes (round to nearest even on the upper 16 bits)."""
    u = a.astype(np.float32).view(np.uint32)
    u = u + 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16).tobytes()


def write_safetensors(path, tensors):
    """tensors: list of (name, shape, kind) with kind 'normal', 'ones', 'zeros' or 'arange'."""
    rng = np.random.default_rng(0)
    header, offset = {}, 0
    for name, shape, kind in tensors:
        n = int(np.prod(shape)) if shape else 1
        size = n * (8 if kind == "arange" else 2)
        header[name] = {
            "dtype": "I64" if kind == "arange" else "BF16",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape, kind in tensors:
            n = int(np.prod(shape)) if shape else 1
            if kind == "arange":
                f.write(np.arange(shape[-1], dtype=np.int64).tobytes())
                continue
            if kind == "ones":
                a = np.ones(n, np.float32)
            elif kind == "zeros":
                a = np.zeros(n, np.float32)
            else:
                a = (rng.standard_normal(n, dtype=np.float32) * 0.02).astype(np.float32)
            # Chunked so a 1B model never needs two full copies in memory.
            step = 1 << 26
            for i in range(0, n, step):
                f.write(bf16_bytes(a[i : i + step]))


def decoder_tensors(c):
    h, inter, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim", h // nh)
    bias = c["model_type"] == "qwen2"
    t = [("model.embed_tokens.weight", (c["vocab_size"], h), "normal")]
    for i in range(layers):
        p = f"model.layers.{i}."
        t += [
            (p + "self_attn.q_proj.weight", (nh * hd, h), "normal"),
            (p + "self_attn.k_proj.weight", (nkv * hd, h), "normal"),
            (p + "self_attn.v_proj.weight", (nkv * hd, h), "normal"),
            (p + "self_attn.o_proj.weight", (h, nh * hd), "normal"),
            (p + "mlp.gate_proj.weight", (inter, h), "normal"),
            (p + "mlp.up_proj.weight", (inter, h), "normal"),
            (p + "mlp.down_proj.weight", (h, inter), "normal"),
            (p + "input_layernorm.weight", (h,), "ones"),
            (p + "post_attention_layernorm.weight", (h,), "ones"),
        ]
        if bias:
            t += [
                (p + "self_attn.q_proj.bias", (nh * hd,), "zeros"),
                (p + "self_attn.k_proj.bias", (nkv * hd,), "zeros"),
                (p + "self_attn.v_proj.bias", (nkv * hd,), "zeros"),
            ]
    t.append(("model.norm.weight", (h,), "ones"))
    if not c.get("tie_word_embeddings", False):
        t.append(("lm_head.weight", (c["vocab_size"], h), "normal"))
    return t


def encoder_tensors(spec):
    t = []
    for name, v in sorted(spec.items()):
        if name.endswith("position_ids"):
            t.append((name, tuple(v["shape"]), "arange"))
        elif "LayerNorm.weight" in name:
            t.append((name, tuple(v["shape"]), "ones"))
        elif name.endswith(".bias"):
            t.append((name, tuple(v["shape"]), "zeros"))
        else:
            t.append((name, tuple(v["shape"]), "normal"))
    return t


def model_tensors(name):
    """(config, tensor list) of one of bench/gpu/models' shapes."""
    src = os.path.join(HERE, "models", name)
    c = json.load(open(os.path.join(src, "config.json")))
    if c["model_type"] == "bert":
        return c, encoder_tensors(json.load(open(os.path.join(src, "tensors.json"))))
    return c, decoder_tensors(c)


def check_shapes():
    """Every model's tensor list against its published parameter count; returns {name: count}."""
    counts = {}
    for name, expected in PARAMETERS.items():
        _, tensors = model_tensors(name)
        n = sum(int(np.prod(shape)) for _, shape, kind in tensors if kind != "arange")
        if n != expected:
            raise SystemExit(f"bench/gpu: the {name} shape has {n:,} parameters, its model card "
                             f"{expected:,}: bench/gpu/models/{name} or measure.py's tensor list is wrong")
        counts[name] = n
    return counts


def cli_has_flag(binary, command, flag):
    """Whether `binary command --help` lists `flag` (the CLI gains flags across versions)."""
    try:
        p = subprocess.run([binary, command, "--help"], capture_output=True, text=True, timeout=30)
        return flag in p.stdout
    except (OSError, subprocess.TimeoutExpired):
        return False


def make_model(name, work, assets):
    d = os.path.join(work, name)
    if os.path.exists(os.path.join(d, ".complete")):
        return d
    os.makedirs(d, exist_ok=True)
    src = os.path.join(HERE, "models", name)
    shutil.copy(os.path.join(src, "config.json"), d)
    c, tensors = model_tensors(name)
    started = time.time()
    tok = os.path.join(assets, "tok-minilm" if c["model_type"] == "bert" else "tok-smollm2")
    for f in os.listdir(tok):
        shutil.copy(os.path.join(tok, f), d)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    open(os.path.join(d, ".complete"), "w").close()
    log(f"  weights of {name}: {time.time() - started:.1f} s")
    return d


# ---------------------------------------------------------------- data

def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_data(work, kind, rows, words):
    path = os.path.join(work, f"data-{kind}-{rows}-{words}.csv")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(1)
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if kind == "generate":
            w.writerow(["prompt", "response"])
            for i in range(rows):
                w.writerow([f"Question {i}: " + sentence(rng, words // 4), sentence(rng, words)])
        else:
            w.writerow(["text", "label"])
            for i in range(rows):
                w.writerow([sentence(rng, words), "positive" if i % 2 else "negative"])
    return path


# ---------------------------------------------------------------- measuring

class GpuMemory:
    """Samples nvidia-smi's memory.used (MiB) every 50 ms while a run lasts."""

    def __init__(self):
        self.base = self.read()
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def read():
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                capture_output=True, text=True, timeout=5,
            ).stdout
            return max(int(x) for x in out.split())
        except Exception:
            return 0

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.read())
            time.sleep(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()

    def used_gib(self):
        return (self.peak - self.base) / 1024.0


def events(text):
    """The JSON objects among `text`'s lines (the CLI's --json output; anything else is skipped)."""
    for line in text.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict):
            yield e


def train(binary, model_dir, data, task, method, batch, max_len, device, home, timeout, extra=()):
    cmd = [
        binary, "--json", "--home", home, "train", "--model", model_dir, "--data", data,
        "--task", task, "--method", method, "--batch", str(batch), "--max-len", str(max_len),
        "--epochs", "1", "--seed", "1", "--device", device, *extra,
    ]
    started = time.time()
    with GpuMemory() as mem:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out, err, rc = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), "timed out", -1
    wall = time.time() - started
    steps = []
    first_loss = None
    base_eval = None
    failed = None
    # `train --json` prints one flat object a line, tagged by "event": step, eval, failed, ...
    for e in events(out):
        kind = e.get("event")
        if kind == "step" and "tokens_per_s" in e:
            steps.append(e)
        elif kind == "eval" and base_eval is None:
            base_eval = e.get("metrics", {}).get("loss")
        elif kind == "failed":
            failed = e.get("error", e)
    if steps:
        first_loss = steps[0].get("loss")
    tps = [s["tokens_per_s"] for s in steps[1:]] or [s["tokens_per_s"] for s in steps]
    return {
        "rc": rc,
        "wall_s": round(wall, 1),
        "steps": len(steps),
        "tokens_per_s": round(statistics.median(tps), 1) if tps else None,
        "first_loss": first_loss,
        "base_eval_loss": base_eval,
        "gpu_gib": round(mem.used_gib(), 2),
        "error": None if rc == 0 else (str(failed) if failed else (err or "")[-400:]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--assets", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=330.0, help="seconds for everything")
    ap.add_argument("--device", default="cuda", help="cpu for a dry run")
    ap.add_argument("--only", default="", help="comma-separated model:method filter")
    ap.add_argument("--precision", default="auto", choices=["auto", "f32", "bf16"],
                    help="passed to `train --precision` when the CLI has the flag")
    ap.add_argument("--qlora-test", default="", help="the qlora_cuda test's output, for the report")
    ap.add_argument("--cuda-test", action="append", default=[], metavar="NAME=FILE",
                    help="another CUDA-vs-CPU test's output (dropout, generate), for the report")
    ap.add_argument("--small", action="store_true",
                    help="dry run: every selected run at batch 2 x 64 tokens, short rows (a CPU finishes it)")
    a = ap.parse_args()
    started = time.time()
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    results = {"device": a.device, "runs": [], "parameters": check_shapes()}
    log("shapes: " + ", ".join(f"{k} {v:,}" for k, v in results["parameters"].items()))
    # Before the CLI has --precision, auto is what it does anyway; asking for more is reported.
    precision = ()
    if cli_has_flag(a.bin, "train", "--precision"):
        precision = ("--precision", a.precision)
        results["precision"] = a.precision
    else:
        results["precision"] = "the CLI's default (no --precision flag in this build)"
        if a.precision != "auto":
            log(f"warning: --precision {a.precision} asked, but this CLI has no --precision flag")
    if a.qlora_test:
        results["qlora_test"] = test_summary(a.qlora_test)
    results["cuda_tests"] = {name: test_summary(path)
                             for name, path in (t.split("=", 1) for t in a.cuda_test)}
    raw = open(os.path.join(a.out, "gpu-raw.jsonl"), "w")

    def left():
        return a.budget - (time.time() - started)

    # 1. CPU vs CUDA on the committed tiny Llama fixture.
    fixture = os.path.join(REPO, "tests", "fixtures", "tiny-llama")
    data = make_data(a.work, "generate", 40, 24)
    agree = {}
    for dev in ["cpu", a.device]:
        r = train(a.bin, fixture, data, "generate", "lora", 4, 64, dev,
                  os.path.join(a.work, f"home-agree-{dev}"), 120)
        agree[dev] = r
        raw.write(json.dumps({"agreement": dev, **r}) + "\n")
        if dev == a.device == "cpu":
            break
    results["agreement"] = agree
    log(f"agreement: {json.dumps({d: (r['first_loss'], r['base_eval_loss']) for d, r in agree.items()})}")

    # 2. Training throughput and memory per shape and method.
    only = {s for s in a.only.split(",") if s}
    for name, method, batch, max_len in RUNS:
        if only and f"{name}:{method}" not in only:
            continue
        words = max_len
        if a.small:
            batch, max_len, words = 2, 64, 16
        if left() < 40:
            results["runs"].append({"model": name, "method": method, "skipped": "time budget"})
            continue
        model = make_model(name, a.work, a.assets)
        task = "classify" if name.startswith("minilm") else "generate"
        rows = batch * 5 + 10
        d = make_data(a.work, task, rows, words)
        r = train(a.bin, model, d, task, method, batch, max_len, a.device,
                  os.path.join(a.work, f"home-{name}-{method}"), min(150, max(30, left() - 20)),
                  extra=("--val-fraction", "0.05", "--test-fraction", "0.05", *precision))
        r.update({"model": name, "method": method, "batch": batch, "max_len": max_len})
        results["runs"].append(r)
        raw.write(json.dumps(r) + "\n")
        raw.flush()
        log(f"  {name} {method} {batch}x{max_len}: {r['tokens_per_s']} tok/s, {r['gpu_gib']} GiB, "
            f"{r['steps']} steps, rc {r['rc']} {('error: ' + r['error'][:200]) if r['error'] else ''}")

    # 3. Generation, 256 new tokens, batch 1.
    if left() > 25:
        model = make_model("smollm2-135m", a.work, a.assets)
        cmd = [a.bin, "--json", "--home", os.path.join(a.work, "home-chat"), "chat", "--model", model,
               "--prompt", "Tell me a long story about a lighthouse keeper.", "--max-tokens", "256"]
        # chat picks its device itself (CUDA when the build and the machine have it).
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=max(20, left() - 5))
            # `chat --json` streams "delta" lines, then one "done" line with the answer's numbers.
            done = [e for e in events(p.stdout) if e.get("event") == "done"]
            tps = done[-1].get("tokens_per_s") if done else None
            results["generation"] = {"rc": p.returncode, "tokens_per_s": tps,
                                     "error": None if p.returncode == 0 else p.stderr[-300:]}
        except subprocess.TimeoutExpired:
            results["generation"] = {"rc": -1, "tokens_per_s": None, "error": "timed out"}
        log(f"generation: {results['generation']}")

    results["seconds"] = round(time.time() - started, 1)
    json.dump(results, open(os.path.join(a.out, "gpu-results.json"), "w"), indent=1)
    print(table(results))
    open(os.path.join(a.out, "gpu-table.md"), "w").write(table(results))


def test_summary(path):
    """A CUDA test binary's verdict from its saved output (`test result: ...` lines)."""
    try:
        text = open(path).read()
    except OSError as e:
        return f"no output ({e})"
    verdicts = [l.strip() for l in text.splitlines() if l.startswith("test result:")]
    if "no CUDA device" in text:
        verdicts.append("skipped: no CUDA device")
    return "; ".join(verdicts) or "did not finish (see qlora-cuda-test.txt)"


def table(r):
    lines = ["| model | method | batch x len | tokens/s | peak GPU GiB | steps | note |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for x in r["runs"]:
        if "skipped" in x:
            lines.append(f"| {x['model']} | {x['method']} | | | | | skipped: {x['skipped']} |")
            continue
        note = ("error: " + x["error"].replace("|", "/").replace("\n", " ")[:120]) if x["error"] else ""
        lines.append(f"| {x['model']} | {x['method']} | {x['batch']} x {x['max_len']} | "
                     f"{x['tokens_per_s'] or ''} | {x['gpu_gib']} | {x['steps']} | {note} |")
    ag = r.get("agreement", {})
    lines.append("")
    lines.append(f"Precision: {r.get('precision', 'auto')}. Shapes: " +
                 ", ".join(f"{k} {v:,} parameters" for k, v in r.get("parameters", {}).items()))
    if r.get("qlora_test"):
        lines.append(f"QLoRA CUDA-vs-CPU test (crates/engine/tests/qlora_cuda.rs): {r['qlora_test']}")
    for name, verdict in r.get("cuda_tests", {}).items():
        lines.append(f"{name.capitalize()} CUDA-vs-CPU test (crates/engine/tests/{name}_cuda.rs): {verdict}")
    lines.append("CPU vs " + r["device"] + " on tests/fixtures/tiny-llama (LoRA, first-step loss / base eval loss): " +
                 "; ".join(f"{d}: {v['first_loss']} / {v['base_eval_loss']}" for d, v in ag.items()))
    g = r.get("generation")
    if g:
        lines.append(f"Generation, SmolLM2-135M shape, 256 new tokens, batch 1: {g['tokens_per_s']} tokens/s"
                     + (f" (error: {g['error']})" if g.get("error") else ""))
    lines.append(f"Whole script: {r['seconds']} s")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
