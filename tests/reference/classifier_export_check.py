"""Loads a `tunesmith export --format classifier` folder with sentence-transformers and compares its
probabilities with Tunesmith's own (`tunesmith predict --json`) on the same texts.

    python tests/reference/classifier_export_check.py --tunesmith target/debug/tunesmith \
        --home HOME --run RUN --folder EXPORT_FOLDER [--text "..."]...

Prints one line per text and the maximum absolute probability difference; exits 1 when it is above
--tolerance (default 1e-4) or a predicted label differs. Needs torch and sentence-transformers (not a
CI dependency; see README.md for the recorded runs).
"""

import argparse
import json
import subprocess
import sys

import numpy as np
from sentence_transformers import SentenceTransformer

DEFAULT_TEXTS = [
    "good fine great today",
    "bad awful poor service",
    "table chair door",
    "mixed words 3",
    "an unrelated sentence about the weather in spring, long enough to use several tokens",
    "!",
]


def tunesmith_probs(binary, home, run, text, labels):
    out = subprocess.run(
        [binary, "--home", home, "predict", "--json", "--run", run, "--text", text],
        check=True,
        capture_output=True,
        text=True,
    )
    p = {x["label"]: x["probability"] for x in json.loads(out.stdout)["probabilities"]}
    return np.array([p[l] for l in labels])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tunesmith", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--folder", required=True)
    ap.add_argument("--text", action="append")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()
    texts = a.text or DEFAULT_TEXTS
    labels = json.load(open(f"{a.folder}/labels.json"))["labels"]
    model = SentenceTransformer(a.folder, device="cpu")
    logits = model.encode(texts, convert_to_numpy=True, batch_size=len(texts))
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    worst, same = 0.0, True
    for text, p in zip(texts, probs):
        t = tunesmith_probs(a.tunesmith, a.home, a.run, text, labels)
        d = float(np.abs(p - t).max())
        worst = max(worst, d)
        same &= int(p.argmax()) == int(t.argmax())
        print(f"{d:.2e}  {labels[int(t.argmax())]:<12} {labels[int(p.argmax())]:<12} {text[:50]}")
    print(f"max probability difference: {worst:.2e} over {len(texts)} texts; same labels: {same}")
    sys.exit(0 if worst <= a.tolerance and same else 1)


if __name__ == "__main__":
    main()
