// What the "Run elsewhere" panel offers and sends, kept apart from the component so it is tested
// as plain functions: the trainers a task can use, the job folder's path, and the request.

import type { JobExportRequest, Trainer } from "./types";
import type { TrainRequest } from "../train/types";

/** A trainer the panel offers, in words. */
export interface TrainerChoice {
  id: Trainer;
  label: string;
  detail: string;
}

const TRL: TrainerChoice = {
  id: "trl",
  label: "Hugging Face TRL / transformers",
  detail: "A short Python script on Accelerate: one GPU, several GPUs (DDP), several nodes (FSDP) or DeepSpeed ZeRO-3.",
};

const AXOLOTL: TrainerChoice = {
  id: "axolotl",
  label: "Axolotl",
  detail: "One YAML config for Axolotl's trainer (decoders only).",
};

/** The trainers that can run a `task` job: Axolotl trains decoders only. */
export function trainersFor(task: string): TrainerChoice[] {
  return task === "generate" ? [TRL, AXOLOTL] : [TRL];
}

/** Why a job cannot be written yet, or null: it needs a folder to go into and a folder name. */
export function missing(parent: string | null, name: string): string | null {
  if (!parent) return "Choose the folder the job goes into.";
  if (!name.trim()) return "Give the job folder a name.";
  if (/[\\/]/.test(name.trim())) return "The folder name cannot contain / or \\.";
  return null;
}

/** The job folder: `name` inside `parent`, with the separator `parent` uses. */
export function jobFolder(parent: string, name: string): string {
  const sep = parent.includes("\\") && !parent.includes("/") ? "\\" : "/";
  return parent.endsWith(sep) ? `${parent}${name.trim()}` : `${parent}${sep}${name.trim()}`;
}

/** A folder name for a job of `train` (its model's last path part, its method), safe on every OS. */
export function suggestedName(train: TrainRequest): string {
  const model = train.model.split(/[\\/]/).filter((p) => p.length > 0).pop() ?? "model";
  return `${model}-${train.method}-job`.replace(/[^A-Za-z0-9._-]+/g, "-");
}

/** The request the panel sends: the Train form's own request (same settings, same fixes). */
export function exportRequest(train: TrainRequest, trainer: Trainer, out: string): JobExportRequest {
  return { train, trainer, out };
}
