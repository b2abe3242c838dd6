#!/usr/bin/env python3
"""A Tunesmith job: fine-tuning an encoder as a text classifier with transformers' Trainer (and a
PEFT SEQ_CLS LoRA adapter for the lora method), as Tunesmith would train it locally (same rows,
split, labels in the same order, maximum length and settings).

Everything that shapes the run is in train_config.json, written by `tunesmith job export` from
the run's resolved settings (one key per setting; see README.md). This script only wires those
settings into transformers and PEFT. Launch it with accelerate or torchrun (README.md); the result
lands in output/, which `tunesmith job import` brings back into the run history.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from datasets import load_dataset
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                          EarlyStoppingCallback, Trainer, TrainingArguments)

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


def accuracy(eval_pred):
    logits, labels = eval_pred
    return {"accuracy": float((np.argmax(logits, axis=-1) == labels).mean())}


def main():
    labels = CFG["labels"]
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(base_ref(), revision=CFG["base_model_revision"])
    model = AutoModelForSequenceClassification.from_pretrained(
        base_ref(), revision=CFG["base_model_revision"], num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id=label2id,
        # A checkpoint that is a classifier for another number of classes gets a fresh head, as
        # Tunesmith gives it one.
        ignore_mismatched_sizes=True)
    if CFG["method"] == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", bias="none", **CFG["lora"]))
    elif CFG["method"] == "features":
        # Feature extraction: the encoder is frozen, only the classification head trains.
        for p in model.base_model.parameters():
            p.requires_grad = False

    files = {"train": here(CFG["train_file"])}
    if CFG.get("validation_file"):
        files["validation"] = here(CFG["validation_file"])
    data = load_dataset("csv", data_files=files, keep_default_na=False)

    def encode(batch):
        out = tokenizer(batch["text"], truncation=True, max_length=CFG["max_length"])
        out["labels"] = [label2id[str(label)] for label in batch["label"]]
        return out

    data = data.map(encode, batched=True, remove_columns=["text", "label"])
    args = TrainingArguments(
        output_dir=here(CFG["output_dir"]),
        per_device_train_batch_size=per_device_batch(),
        per_device_eval_batch_size=per_device_batch(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
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
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data["train"],
        eval_dataset=data.get("validation"),
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=accuracy,
        callbacks=callbacks,
    )
    trainer.train()
    final = Path(here(CFG["output_dir"])) / "final"
    trainer.save_model(str(final))
    if trainer.is_world_process_zero():
        trainer.state.save_to_json(str(final / "trainer_state.json"))
        write_result(final, trainer)


def write_result(final, trainer):
    import hashlib
    import importlib.metadata as md
    versions = {}
    for pkg in ("torch", "transformers", "peft", "accelerate"):
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
