"""Loads a `tunesmith export --format adapter` folder the way a PEFT user would, with
`AutoPeftModelForCausalLM.from_pretrained(folder)` alone (the base comes from the config's
`base_model_name_or_path`), and checks that PEFT warns about nothing in the config and that the
result equals `PeftModel.from_pretrained(base, folder)`.

Usage: python peft_autoload.py ADAPTER_FOLDER [PROMPT_IDS...]
(set HF_HOME / HF_HUB_OFFLINE=1 to resolve the base from a local Hugging Face cache). Not CI.
"""

import io
import json
import logging
import sys
import warnings

import torch
import transformers
import peft
from peft import AutoPeftModelForCausalLM, PeftModel
from transformers import AutoModelForCausalLM


def main() -> int:
    folder = sys.argv[1]
    ids = [int(x) for x in sys.argv[2:]] or [1, 5, 9, 42, 7]
    log = io.StringIO()
    for name in ("peft", "transformers"):
        logging.getLogger(name).addHandler(logging.StreamHandler(log))
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        model = AutoPeftModelForCausalLM.from_pretrained(folder)
    messages = [str(w.message) for w in caught] + log.getvalue().splitlines()
    about_config = [m for m in messages if "Unexpected keyword" in m or "LoraConfig" in m]
    base_id = json.load(open(f"{folder}/adapter_config.json"))["base_model_name_or_path"]
    reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_id), folder)
    x = torch.tensor([ids])
    with torch.no_grad():
        diff = (model(x).logits - reference(x).logits).abs().max().item()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    print(f"base: {base_id}; config warnings: {about_config or 'none'}; "
          f"AutoPeft vs PeftModel max |logit difference|: {diff:.3g}")
    return 0 if not about_config and diff == 0.0 else 1


if __name__ == "__main__":
    sys.exit(main())
