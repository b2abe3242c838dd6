// One sentence about an imported run, for "Bring back a run".

import type { JobImportSummary } from "./types";

/** `run 2026… is back: an adapter trained for 40 steps on 2 processes; validation loss 1.23.` */
export function importedSummary(s: JobImportSummary): string {
  const what = s.kind === "adapter" ? "a LoRA adapter" : "a whole fine-tuned model";
  const where = s.world_size ? ` on ${s.world_size} process${s.world_size === 1 ? "" : "es"}` : "";
  // A metric the trainer did not log (or logged as NaN, which crosses as null) is left out.
  const metric = ["accuracy", "perplexity", "loss"].find((k) => typeof s.metrics[k] === "number");
  const value = metric === undefined ? null : s.metrics[metric];
  const score =
    metric === undefined || value == null
      ? ""
      : `; validation ${metric} ${metric === "accuracy" ? `${(value * 100).toFixed(1)} %` : value.toFixed(3)}`;
  return `Run ${s.run_id} is back: ${what} trained for ${s.steps} steps${where}${score}. It is in the table below.`;
}
