#!/usr/bin/env python3
"""The real distributed round trip of issue 17 (reference tier, not CI).

For the tiny Llama (generation, LoRA) and tiny BERT (classification, LoRA) fixtures:
  1. `tunesmith job export --trainer trl` writes the job (the same fixed runs the CI tests export);
  2. `accelerate launch --multi_gpu --num_processes 2 train.py` trains it with two processes
     (torch.distributed over gloo: real data parallelism);
  3. `tunesmith job import` brings it back as the job's run;
  4. Tunesmith's `chat --run` / `predict --run` on the imported run are compared with PEFT in
     Python on the same adapter (greedy answer text; class probabilities within 1e-4).
With --commit, the trainer's output (adapter, trainer_state.json, tunesmith-result.json) and the
PEFT outputs are copied to tests/fixtures/job/trl-<task>-output/ for the CI import test.

Needs a venv with torch, transformers, peft, trl, accelerate and datasets (outside the repo):
  /work/venv/bin/python tests/reference/job_round_trip.py --bin target/debug/tunesmith [--commit]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "fixtures"

# The fixed runs of tests/job_export.rs.
GENERATE = ["--task", "generate", "--method", "lora", "--prompt-column", "prompt", "--response-column",
            "response", "--epochs", "2", "--batch", "4", "--lr", "0.01", "--max-len", "64",
            "--lora-rank", "4", "--lora-alpha", "8", "--seed", "7"]
CLASSIFY = ["--task", "classify", "--method", "lora", "--text-column", "sentence", "--label-column",
            "label", "--epochs", "2", "--batch", "4", "--lr", "0.01", "--max-len", "32",
            "--lora-rank", "4", "--lora-alpha", "8", "--seed", "7"]
PROMPT = "What is the code word for project Alder? (ask 0, please)"
TEXT = "good fine great number 3"
KEEP = ["adapter_config.json", "adapter_model.safetensors", "trainer_state.json", "tunesmith-result.json"]


def run(cmd, cwd=None, env=None):
    t = time.time()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(map(str, cmd))}\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}")
    return out.stdout, time.time() - t


def tunesmith(bin_, home, *args):
    out, _ = run([bin_, "--home", str(home), "--json", *map(str, args)])
    return out


def round_trip(bin_, work, task):
    model, data, opts = {
        "generate": (FIX / "tiny-llama", FIX / "job" / "facts.csv", GENERATE),
        "classify": (FIX / "tiny-bert", FIX / "job" / "sentiment.tsv", CLASSIFY),
    }[task]
    home, job = work / "home", work / f"{task}-job"
    summary = json.loads(tunesmith(bin_, home, "job", "export", "--trainer", "trl", *opts,
                                   "--model", model, "--data", data, "--out", job))
    accelerate = Path(sys.executable).with_name("accelerate")
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    _, seconds = run([str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "train.py"], cwd=job, env=env)
    imported = json.loads(tunesmith(bin_, home, "job", "import", job))
    assert imported["run_id"] == summary["run_id"], imported
    result = json.loads((job / "output" / "final" / "tunesmith-result.json").read_text())
    row = {"task": task, "run_id": imported["run_id"], "train_rows": summary["train_rows"],
           "processes": result["world_size"], "steps": imported["steps"], "seconds": round(seconds, 1),
           "metrics": imported["metrics"]}
    if task == "generate":
        row.update(compare_chat(bin_, home, job, imported["run_id"]))
    else:
        row.update(compare_predict(bin_, home, job, imported["run_id"]))
    return job, row


def compare_chat(bin_, home, job, run_id):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    lines = tunesmith(bin_, home, "chat", "--run", run_id, "--prompt", PROMPT, "--max-tokens", "12").splitlines()
    ours = next(json.loads(l) for l in reversed(lines) if json.loads(l).get("event") == "done")["text"].strip()
    cfg = json.loads((job / "train_config.json").read_text())
    tok = AutoTokenizer.from_pretrained(job / "base-model")
    tok.chat_template = cfg["chat_template"]
    base = AutoModelForCausalLM.from_pretrained(job / "base-model", dtype=torch.float32)
    model = PeftModel.from_pretrained(base, job / "output" / "final").eval()
    ids = tok.apply_chat_template([{"role": "user", "content": PROMPT}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)["input_ids"]
    stop = [tok.eos_token_id] + [i for i in [tok.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")] if i is not None]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=12, do_sample=False, eos_token_id=stop, pad_token_id=tok.pad_token_id)
    theirs = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()
    with torch.no_grad(), model.disable_adapter():
        out = model.generate(ids, max_new_tokens=12, do_sample=False, eos_token_id=stop, pad_token_id=tok.pad_token_id)
    base = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()
    return {"prompt": PROMPT, "tunesmith_answer": ours, "peft_answer": theirs, "base_answer": base,
            "same": ours == theirs}


def compare_predict(bin_, home, job, run_id):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    ours = json.loads(tunesmith(bin_, home, "predict", "--run", run_id, "--text", TEXT))
    ours = {p["label"]: p["probability"] for p in ours["probabilities"]}
    cfg = json.loads((job / "train_config.json").read_text())
    labels = cfg["labels"]
    tok = AutoTokenizer.from_pretrained(job / "base-model")
    base = AutoModelForSequenceClassification.from_pretrained(
        job / "base-model", num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)}, ignore_mismatched_sizes=True)
    model = PeftModel.from_pretrained(base, job / "output" / "final").eval()
    enc = tok(TEXT, truncation=True, max_length=cfg["max_length"], return_tensors="pt")
    with torch.no_grad():
        p = torch.softmax(model(**enc).logits[0], -1).tolist()
    theirs = dict(zip(labels, p))
    with torch.no_grad(), model.disable_adapter():
        b = torch.softmax(model(**enc).logits[0], -1).tolist()
    diff = max(abs(ours[l] - theirs[l]) for l in labels)
    return {"text": TEXT, "tunesmith": ours, "peft": theirs, "base": dict(zip(labels, b)),
            "max_abs_diff": diff, "same": diff < 1e-4}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the tunesmith binary")
    ap.add_argument("--commit", action="store_true", help="copy the outputs to tests/fixtures/job/")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tunesmith-job-"))
    rows = []
    for task in ("generate", "classify"):
        job, row = round_trip(str(Path(args.bin).resolve()), work, task)
        rows.append(row)
        if args.commit:
            dest = FIX / "job" / f"trl-{task}-output"
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            for f in KEEP:
                shutil.copy(job / "output" / "final" / f, dest / f)
            expected = {k: row[k] for k in ("prompt", "peft_answer", "text", "peft") if k in row}
            (dest / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(json.dumps(rows, indent=2))
    if not all(r["same"] for r in rows):
        sys.exit("Tunesmith and PEFT disagree on an imported adapter (see above)")


if __name__ == "__main__":
    main()
