"""Does `tunesmith chat --run` give PEFT's greedy answers? (issue 19, section 5; not a CI test: it
needs PyTorch, transformers, PEFT and gguf; see tests/reference/README.md).

    python tests/reference/chat_run_vs_peft.py --tunesmith target/debug/tunesmith \
        --base ~/.cache/tunesmith/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf \
        --work /tmp/crp [--new 24]

1. Trains a tiny LoRA run on the GGUF base (a few steps on made-up "code word" rows) in a home of
   its own under --work, and exports its adapter and its merged folder.
2. Asks each question with `tunesmith chat --run RUN --json` (the default: the base as it trained,
   dequantised) and with `--quantised` (the GGUF's own quantisation kept).
3. Loads the exported adapter with `AutoPeftModelForCausalLM.from_pretrained(adapter)`: the base it
   names (a hub id) is served offline from a Hugging Face cache made here, holding the GGUF as
   transformers dequantises it. Greedy answers from the same prompt ids (the chat template of the
   exported tokenizer; their count is checked against chat's `prompt_tokens`), stopping on the same
   end tokens.
4. Prints one JSON object: per question the three answers, whether each Tunesmith answer equals
   PEFT's, and for a differing one the first differing token and PEFT's top-two logit gap there.
"""

import argparse
import json
import os
import subprocess
import sys

QUESTIONS = [
    "What is the code word for project Alder?",
    "What is the code word for project Birch?",
    "What is the code word for project Cedar?",
    "Which project has the code word Bluebird?",
    "What is the capital of France?",
    # Open questions: longer answers, more chances for a near-tie.
    "Write one sentence about the sea.",
    "What is machine learning?",
    "Give me a tip for sleeping well.",
    "Explain what a noun is.",
    "Why is the sky blue?",
]

PROJECTS = ["Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel"]
WORDS = ["Bluebird", "Copper", "Lantern", "Meadow", "Harbor", "Quartz", "Willow", "Falcon"]


def sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def train_and_export(ts, home, base, work):
    """The run's id and its exported adapter and merged folders (made once per --work folder)."""
    adapter, merged, done = (os.path.join(work, n) for n in ("adapter", "merged", "run.txt"))
    if os.path.exists(done):
        with open(done) as f:
            return f.read().strip(), adapter, merged
    data = os.path.join(work, "codes.csv")
    with open(data, "w") as f:
        f.write("prompt,response\n")
        for _ in range(2):
            for p, w in zip(PROJECTS, WORDS):
                f.write(f"What is the code word for project {p}?,The code word is {w}.\n")
    out = sh([ts, "--home", home, "train", "--json", "--task", "generate", "--method", "lora",
              "--prompt-column", "prompt", "--response-column", "response", "--epochs", "2",
              "--batch", "4", "--lr", "0.002", "--max-len", "64", "--model", base, "--data", data])
    run = [json.loads(l) for l in out.splitlines() if l.strip()][-1]["run_id"]
    for fmt, to in (("adapter", adapter), ("merged", merged)):
        sh([ts, "--home", home, "export", "--run", run, "--format", fmt, "--out", to])
    with open(done, "w") as f:
        f.write(run)
    return run, adapter, merged


def chat(ts, home, run, question, new, quantised):
    cmd = [ts, "--home", home, "chat", "--json", "--run", run, "--prompt", question,
           "--max-tokens", str(new)]
    if quantised:
        cmd.append("--quantised")
    done = [json.loads(l) for l in sh(cmd).splitlines() if l.strip()][-1]
    assert done["event"] == "done", done
    return done


def hub_cache_with_base(hf_home, repo_id, base):
    """A Hugging Face cache (offline) whose `repo_id` is `base` as transformers dequantises it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sha = "0" * 40
    root = os.path.join(hf_home, "hub", "models--" + repo_id.replace("/", "--"))
    snap = os.path.join(root, "snapshots", sha)
    if not os.path.exists(os.path.join(snap, "config.json")):
        kw = dict(gguf_file=os.path.basename(base))
        loaded = AutoModelForCausalLM.from_pretrained(os.path.dirname(base), dtype=torch.float32, **kw)
        # A model loaded from a GGUF refuses save_pretrained: the same weights in a plain model.
        config = loaded.config
        config.__dict__.pop("quantization_config", None)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict())
        model.save_pretrained(snap)
        AutoTokenizer.from_pretrained(os.path.dirname(base), **kw).save_pretrained(snap)
        os.makedirs(os.path.join(root, "refs"), exist_ok=True)
        with open(os.path.join(root, "refs", "main"), "w") as f:
            f.write(sha)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tunesmith", required=True)
    ap.add_argument("--base", required=True, help="the .gguf base to train on")
    ap.add_argument("--work", required=True, help="a folder for the home, exports and HF cache")
    ap.add_argument("--new", type=int, default=48)
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    # Before transformers is imported: the cache it reads, and no network.
    os.environ["HF_HOME"] = os.path.join(work, "hf")
    os.environ["HF_HUB_OFFLINE"] = "1"

    ts, home = os.path.abspath(args.tunesmith), os.path.join(work, "home")
    run, adapter, merged = train_and_export(ts, home, os.path.abspath(args.base), work)

    import torch
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    with open(os.path.join(adapter, "adapter_config.json")) as f:
        repo_id = json.load(f)["base_model_name_or_path"]
    hub_cache_with_base(os.environ["HF_HOME"], repo_id, os.path.abspath(args.base))
    peft = AutoPeftModelForCausalLM.from_pretrained(adapter, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(merged)
    stops = sorted({i for i in (tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>"),
                                tok.convert_tokens_to_ids("<|endoftext|>")) if i is not None})

    out = {"run": run, "base_model_name_or_path": repo_id, "questions": []}
    for q in QUESTIONS:
        text = tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                       add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            gen = peft.generate(torch.tensor([ids]), max_new_tokens=args.new, do_sample=False,
                                eos_token_id=stops, pad_token_id=stops[0],
                                output_scores=True, return_dict_in_generate=True)
        new_ids = gen.sequences[0][len(ids):].tolist()
        want = tok.decode(new_ids, skip_special_tokens=True).strip()
        row = {"question": q, "peft": want}
        for name, quantised in (("as_trained", False), ("quantised", True)):
            done = chat(ts, home, run, q, args.new, quantised)
            got = done["text"].strip()
            row[name] = got
            row[name + "_same"] = got == want
            row[name + "_prompt_tokens_equal"] = done["prompt_tokens"] == len(ids)
            if got != want:
                # Where the answers part: PEFT's top-two gap there (a near-tie flips either way).
                mine = tok(got, add_special_tokens=False)["input_ids"]
                k = next((i for i, (a, b) in enumerate(zip(mine, new_ids)) if a != b),
                         min(len(mine), len(new_ids)))
                if k < len(gen.scores):
                    top = torch.topk(gen.scores[k][0], 2).values
                    row[name + "_diverges_at_token"] = k
                    row[name + "_peft_top2_gap"] = round(float(top[0] - top[1]), 4)
        out["questions"].append(row)
    n = len(out["questions"])
    for name in ("as_trained", "quantised"):
        out[name + "_matches"] = f"{sum(r[name + '_same'] for r in out['questions'])} of {n}"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
