// One sentence about an imported run, for "Bring back a run".

import type { JobImportSummary } from "./types";

/** `run 2026… is back: an adapter trained for 40 steps on 2 processes; validation loss 1.23.` */
export function importedSummary(s: JobImportSummary): string {
  const what = s.kind === "adapter" ? "a LoRA adapter" : "a whole fine-tuned model";
  const where = s.world_size ? ` on ${s.world_size} process${s.world_size === 1 ? "" : "es"}` : "";
  const metric = ["accuracy", "perplexity", "loss"].find((k) => s.metrics[k] !== undefined);
  const score =
    metric === undefined
      ? ""
      : `; validation ${metric} ${metric === "accuracy" ? `${(s.metrics[metric] * 100).toFixed(1)} %` : s.metrics[metric].toFixed(3)}`;
  return `Run ${s.run_id} is back: ${what} trained for ${s.steps} steps${where}${score}. It is in the table below.`;
}
