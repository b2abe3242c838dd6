"""The llama.cpp reference for bench/generate.rs: the same generation, timed the same way.

    python bench/reference/generate.py [--model FILE.gguf] [--prompt-tokens N] [--new-tokens N]
        [--runs N] [--threads N]

llama.cpp through llama-cpp-python (a CPU build: `CMAKE_ARGS="-DGGML_NATIVE=ON" pip install
llama-cpp-python`, which compiles the llama.cpp it vendors). Prints one JSON line with the same
fields as the Rust side: medians over --runs timed runs (after one untimed warm-up) of the prompt's
seconds (the whole prompt in one `eval`, i.e. llama.cpp's batched prompt processing) and of the
generation's seconds (--new-tokens greedy tokens: the argmax of the latest logits, then an
`eval` of that one token, except after the last, exactly as the engine's loop counts), tokens/s, the load time and the peak resident memory (VmHWM).

The prompt is the first --prompt-tokens tokens of the same paragraph bench/generate.rs uses,
tokenised by the GGUF's own tokenizer (no BOS added), repeated as needed. The model file is mapped
read-only (mmap), as llama.cpp does by default; its weights stay in the file's Q4_1/Q8_0.
"""

import argparse
import glob
import json
import os
import statistics
import time

TEXT = (
    "The history of the printing press begins in the fifteenth century, when "
    "Johannes Gutenberg combined movable metal type, oil-based ink and a wooden screw press into a "
    "system that could produce books faster and more cheaply than any scribe. Within fifty years, "
    "presses had spread to more than two hundred cities across Europe, and millions of volumes were in "
    "circulation. Scholars could compare identical copies of a text, errors could be corrected in later "
    "editions, and ideas travelled further than ever before. "
)


def peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def default_model():
    root = os.environ.get("TUNESMITH_MODELS", os.path.expanduser("~/.cache/tunesmith/models"))
    found = sorted(glob.glob(os.path.join(root, "SmolLM2-135M-Instruct", "*.gguf")))
    if not found:
        raise SystemExit(f"no .gguf file in {root}/SmolLM2-135M-Instruct (run scripts/fetch-models)")
    return found[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    path = a.model or default_model()

    import numpy as np
    from llama_cpp import Llama

    start = time.perf_counter()
    llm = Llama(
        model_path=path,
        n_ctx=max(512, a.prompt_tokens + a.new_tokens + 8),
        n_batch=max(512, a.prompt_tokens),
        n_ubatch=max(512, a.prompt_tokens),
        n_threads=a.threads,
        n_threads_batch=a.threads,
        logits_all=False,
        verbose=False,
    )
    load_s = time.perf_counter() - start

    prompt = []
    while len(prompt) < a.prompt_tokens:
        prompt.extend(llm.tokenize(TEXT.encode("utf-8"), add_bos=False, special=False))
    prompt = prompt[: a.prompt_tokens]

    prompt_s, gen_s = [], []
    for run in range(a.runs + 1):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        # As the engine's loop: pick a token from the latest logits, and evaluate it unless it is
        # the last one (N tokens = N argmaxes + N - 1 one-token evals).
        for i in range(a.new_tokens):
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            if i + 1 < a.new_tokens:
                llm.eval([tok])
        t2 = time.perf_counter()
        if run == 0:
            continue
        prompt_s.append(t1 - t0)
        gen_s.append(t2 - t1)

    p, g = statistics.median(prompt_s), statistics.median(gen_s)
    print(
        json.dumps(
            {
                "side": "llama.cpp",
                "weights": "stored",
                "threads": a.threads,
                "prompt_tokens": len(prompt),
                "new_tokens": a.new_tokens,
                "runs": a.runs,
                "prompt_s": p,
                "generation_s": g,
                "prompt_tokens_per_s": len(prompt) / p,
                "generation_tokens_per_s": a.new_tokens / g,
                "load_s": load_s,
                "peak_mb": peak_mb(),
                "model": path,
            }
        )
    )


if __name__ == "__main__":
    main()
