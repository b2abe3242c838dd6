#!/usr/bin/env python3
"""A Tunesmith job: supervised fine-tuning of a decoder with TRL's SFTTrainer, as Tunesmith
would train it locally (same rows, split, chat template, prompt masking and settings).

Everything that shapes the run is in train_config.json, written by `tunesmith job export` from
the run's resolved settings (one key per setting; see README.md). This script only wires those
settings into TRL, PEFT and transformers. Launch it with accelerate or torchrun (README.md); the
result lands in output/, which `tunesmith job import` brings back into the run history.
"""
import json
import os
import sys
from pathlib import Path

import torch
from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback
from trl import SFTConfig, SFTTrainer

HERE = Path(__file__).resolve().parent
CFG = json.loads((HERE / "train_config.json").read_text())


def here(path):
    """A path of the job, wherever the launcher started the process."""
    return str(path if os.path.isabs(path) else HERE / path)


def base_ref():
    base = CFG["base_model"]
    return here(base) if (HERE / base).exists() else base


def training_arguments():
    # Unset keys (no evaluation steps when evaluating once an epoch) take transformers' defaults.
    return {k: v for k, v in CFG["training_arguments"].items() if v is not None}


def as_prompt_completion(row):
    # Tunesmith learns the last response only: every turn before it is the prompt (masked).
    return {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]}


def no_accelerator():
    # Without a GPU, transformers would run each launched process alone; on the CPU the processes
    # must join one gloo process group (what `accelerate launch --multi_gpu` / torchrun start).
    mps = getattr(torch.backends, "mps", None)
    return not (torch.cuda.is_available() or (mps is not None and mps.is_available()))


def per_device_batch():
    # The run's batch is global: N processes each take batch / N rows, so the optimiser sees the
    # same number of rows per step as the local run does.
    world = int(os.environ.get("WORLD_SIZE", "1"))
    batch = CFG["global_batch_size"]
    if batch % world:
        sys.exit(f"the run's batch of {batch} rows does not divide among {world} processes; "
                 f"launch a number of processes that divides {batch}, or export with another --batch")
    return batch // world


def main():
    tokenizer = AutoTokenizer.from_pretrained(base_ref(), revision=CFG["base_model_revision"])
    # The chat template the local run renders rows with (the model's own, or Tunesmith's plain one).
    tokenizer.chat_template = CFG["chat_template"]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    model_kwargs = {"revision": CFG["base_model_revision"],
                    "dtype": torch.bfloat16 if bf16 else torch.float32}
    if CFG.get("quantization"):
        from transformers import BitsAndBytesConfig
        model_kwargs["quantization_config"] = BitsAndBytesConfig(
            bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float32, **CFG["quantization"])
    model = AutoModelForCausalLM.from_pretrained(base_ref(), **model_kwargs)

    peft_config = None
    if CFG["method"] in ("lora", "qlora"):
        from peft import LoraConfig
        peft_config = LoraConfig(task_type="CAUSAL_LM", bias="none", **CFG["lora"])

    files = {"train": here(CFG["train_file"])}
    if CFG.get("validation_file"):
        files["validation"] = here(CFG["validation_file"])
    data = load_dataset("json", data_files=files)
    data = data.map(as_prompt_completion, remove_columns=["messages"])

    args = SFTConfig(
        output_dir=here(CFG["output_dir"]),
        per_device_train_batch_size=per_device_batch(),
        per_device_eval_batch_size=per_device_batch(),
        max_length=CFG["max_length"],
        completion_only_loss=CFG["prompt_masking"],
        packing=False,
        bf16=bf16,
        logging_steps=1,
        report_to="none",
        use_cpu=no_accelerator(),
        save_total_limit=2,
        **training_arguments(),
    )
    callbacks = []
    stop = CFG.get("early_stopping") or {}
    if stop.get("patience") is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=stop["patience"],
                                               early_stopping_threshold=stop.get("threshold", 0.0)))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=data["train"],
        eval_dataset=data.get("validation"),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    trainer.train()
    final = Path(here(CFG["output_dir"])) / "final"
    trainer.save_model(str(final))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(final))
        trainer.state.save_to_json(str(final / "trainer_state.json"))
        write_result(final, trainer)


def write_result(final, trainer):
    import hashlib
    import importlib.metadata as md
    versions = {}
    for pkg in ("torch", "transformers", "trl", "peft", "accelerate"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    result = {
        "run_id": json.loads((HERE / "job.json").read_text())["run_id"],
        "config_sha256": "sha256:" + hashlib.sha256((HERE / "train_config.json").read_bytes()).hexdigest(),
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
        "global_step": trainer.state.global_step,
        "best_metric": trainer.state.best_metric,
        "versions": versions,
    }
    (final / "tunesmith-result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
