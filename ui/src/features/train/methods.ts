// The four ways to fine-tune, in plain words, which of them a task allows, and which one to
// recommend for a task, an amount of data and a device, with the reason in one sentence.

import type { Method, Task, Verdict } from "./types";

/** One method as its card explains it. */
export interface MethodInfo {
  id: Method;
  name: string;
  /** What changes in the model. */
  changes: string;
  memory: string;
  speed: string;
  /** When to pick it. */
  when: string;
  /** The tasks the engine trains with it. */
  tasks: Task[];
}

/** The methods, lightest last. */
export const METHODS: MethodInfo[] = [
  {
    id: "full",
    name: "Full fine-tuning",
    changes: "Every weight of the model is adjusted to your examples.",
    memory: "Highest: about four times the model's size (weights, gradients and the optimiser's memory of each).",
    speed: "Slowest.",
    when: "Thousands of examples, a small model, and a machine with memory to spare.",
    tasks: ["classify", "generate"],
  },
  {
    id: "features",
    name: "Feature extraction",
    changes: "The model stays as it is; only a small classifier on top learns from what the model reads in each text.",
    memory: "Lowest: the model once, plus a tiny classifier.",
    speed: "Fastest: each text is read once, then only the classifier trains.",
    when: "A first baseline, very little data, or a slow computer. Classification only.",
    tasks: ["classify"],
  },
  {
    id: "lora",
    name: "LoRA",
    changes: "The model stays as it is; small adapter matrices (well under 1 % of its size) learn next to it.",
    memory: "Low: the model once, plus small adapters and their optimiser state.",
    speed: "Fast: gradients flow through the model, but only the adapters are updated.",
    when: "The usual choice: close to full fine-tuning in quality at a fraction of the memory.",
    tasks: ["classify", "generate"],
  },
  {
    id: "qlora",
    name: "QLoRA",
    changes: "Like LoRA, but the frozen model is stored in 4 bits, about seven times smaller in memory.",
    memory: "Lowest for large models: a compressed model plus small adapters.",
    speed: "A little slower than LoRA (the model is unpacked as it is used), and slightly less exact.",
    when: "A text-generation model that does not fit in memory with LoRA. Generation only.",
    tasks: ["generate"],
  },
];

/** The card for `id`. */
export function methodInfo(id: Method): MethodInfo {
  return METHODS.find((m) => m.id === id) ?? METHODS[2];
}

/** Why `method` cannot train `task`, or `null` when it can. */
export function unavailableReason(method: Method, task: Task): string | null {
  if (methodInfo(method).tasks.includes(task)) return null;
  return task === "classify"
    ? "QLoRA compresses text-generation models; for classification use LoRA."
    : "Feature extraction trains a classifier; text generation needs LoRA, QLoRA or full fine-tuning.";
}

/** What the recommendation depends on. */
export interface RecommendInput {
  task: Task;
  /** Usable rows, when known. */
  rows: number | null;
  /** Whether training runs on a GPU (CUDA or Metal). */
  gpu: boolean;
  /** The current estimate's verdict and the method it was made for, when known. */
  estimate: { method: Method; verdict: Verdict | null } | null;
  /**
   * Methods an earlier estimate for the same model found not to fit. Remembered so that choosing
   * the method the recommendation suggests (whose own estimate fits) does not flip it back.
   */
  notFitting?: Method[];
}

/** The recommended method and why, in one sentence. */
export interface Recommendation {
  method: Method;
  why: string;
}

/** The method to recommend for `input`. */
export function recommend(input: RecommendInput): Recommendation {
  const { task, rows, gpu, estimate } = input;
  const tooBig = (m: Method) =>
    (input.notFitting ?? []).includes(m) || (estimate !== null && estimate.method === m && estimate.verdict === "does_not_fit");
  if (task === "generate") {
    const failed = (["lora", "full"] as const).find(tooBig);
    if (failed !== undefined)
      return { method: "qlora", why: `With ${failed === "full" ? "full fine-tuning" : "LoRA"} this model does not fit in memory; QLoRA keeps it compressed and trains adapters.` };
    return { method: "lora", why: "For text generation, LoRA learns your style and answers while keeping the model intact and memory low." };
  }
  if (rows !== null && rows < 500)
    return { method: "features", why: `With ${rows} examples, a classifier on the frozen model learns what there is to learn, fast, and cannot damage the model.` };
  if (rows !== null && rows >= 20_000 && gpu && !tooBig("full"))
    return { method: "full", why: `With ${rows} examples and a GPU, adjusting every weight gives the best accuracy in reasonable time.` };
  return {
    method: "lora",
    why:
      rows === null
        ? "For classification, LoRA is close to full fine-tuning in accuracy at a fraction of the memory and time."
        : `With ${rows} examples${gpu ? "" : " on this computer's CPU"}, LoRA reaches nearly full fine-tuning's accuracy at a fraction of the memory and time.`,
  };
}
