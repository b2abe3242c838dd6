// Test data shaped like the app's answers (the serde shapes of src/models.rs, src/eval.rs ...).
import type { ClassificationReport, EstimateReport, EvalReport, EvaluationRecord, RunDetails, RunEvent, RunSummary } from "./types";

const GB = 1_000_000_000;

/** An estimate with `verdict`, needing `total` bytes of `free`. */
export function estimateReport(verdict: EstimateReport["verdict"], total = 2 * GB, free: number | null = 8 * GB): EstimateReport {
  return {
    model: "/models/minilm",
    device: { device: "cpu", bytes: free, source: "MemAvailable in /proc/meminfo" },
    shape: { family: "encoder", parameters: 22_700_000, hidden: 384, layers: 6, heads: 12, kv_heads: 12, intermediate: 1536, vocab: 30522, context_length: 512 },
    request: { method: "lora", batch: 16, max_len: 128, lora_rank: 8, num_labels: 2 },
    trainable_parameter_count: 74_000,
    breakdown: {
      weights: total * 0.5,
      trainable_parameters: 296_000,
      gradients: 296_000,
      optimizer_state: 592_000,
      activations: total * 0.3,
      overhead: total * 0.2 - 1_184_000,
      total,
    },
    free_memory: free,
    verdict,
    suggestion: verdict === "does_not_fit" ? "use --method qlora, or --batch 4" : null,
    time: {
      calibrated: false,
      seconds_per_step: null,
      steps: null,
      epochs: null,
      setup_seconds: null,
      total_seconds: null,
      cached: false,
      note: "not measured yet for these settings",
    },
    assumptions: [],
    checkpointing: "off",
    activation_checkpointing: false,
    total_without_checkpointing: total,
    total_with_checkpointing: Math.round(total * 0.8),
  };
}

/** A run's events: started, `steps` steps with falling loss, evals every `every` steps. */
export function runEvents(runId: string, steps: number, every: number, valLoss: (k: number) => number = (k) => 1 / (k + 1)): RunEvent[] {
  const out: RunEvent[] = [
    { run_id: runId, event: "started", total_steps: steps, epochs: 2, steps_per_epoch: steps / 2, train_examples: 80, val_examples: 10, trainable_params: 1000, resumed_from: null },
  ];
  let k = 0;
  for (let s = 1; s <= steps; s++) {
    out.push({ run_id: runId, event: "step", step: s, total_steps: steps, epoch: s <= steps / 2 ? 1 : 2, loss: 2 / s, lr: 1e-4, grad_norm: 1, tokens_per_s: 1000, elapsed: s, eta: steps - s });
    if (s % every === 0) {
      out.push({ run_id: runId, event: "eval", step: s, metrics: { loss: valLoss(k), accuracy: 0.5 + k / 100 }, best: k === 0 });
      k++;
    }
  }
  return out;
}

/** A classifier's report on `labels`. */
export function classification(accuracy: number, labels = ["neg", "pos"]): ClassificationReport {
  return {
    rows: 20,
    accuracy,
    macro_precision: accuracy,
    macro_recall: accuracy,
    macro_f1: accuracy - 0.01,
    loss: 1 - accuracy,
    per_class: labels.map((label) => ({ label, precision: accuracy, recall: accuracy, f1: accuracy - 0.01, support: 10 })),
    confusion: [
      [8, 2],
      [1, 9],
    ],
    labels,
    worst: [{ index: 3, text: "not bad at all", label: "pos", predicted: "neg", confidence: 0.91, true_probability: 0.09 }],
  };
}

/** `eval_run`'s answer. */
export function evalReport(): EvalReport {
  return {
    run_id: "run-1",
    data: "test",
    rows: 20,
    fine_tuned: classification(0.85),
    base: { ...classification(0.6), note: "base = a head on frozen features" },
    baselines: { majority_label: "pos", majority: classification(0.55), bag_of_words: classification(0.78) },
  };
}

/** A line of `runs_list`. */
export function runSummary(id: string, patch: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    name: "",
    task: "classify",
    method: "lora",
    model: "/models/minilm",
    dataset: "/data/reviews.csv",
    status: "finished",
    best_metric: { name: "accuracy", split: "validation", value: 0.8 },
    started_at: 1_700_000_000_000,
    created_at: 1_700_000_000_000,
    duration_ms: 1000,
    ...patch,
  };
}

/** `runs_show`'s answer for run `id` with `evaluations`. */
export function runDetails(id: string, task: string, evaluations: Omit<EvaluationRecord, "id" | "run_id" | "created_at">[] = []): RunDetails {
  return {
    run: {
      id,
      name: "",
      task,
      method: "lora",
      model_id: null,
      model_ref: "/models/m",
      dataset_id: null,
      dataset_ref: "/data/d.csv",
      data_fingerprint: null,
      config: {},
      status: "finished",
      device: "cpu",
      hardware: {},
      versions: {},
      seed: 42,
      split: {},
      primary_metric: null,
      parent_run: null,
      error: null,
      pid: null,
      heartbeat_at: null,
      created_at: 1,
      started_at: 1,
      finished_at: 2,
    },
    duration_ms: 1,
    metrics: [],
    artefacts: [],
    evaluations: evaluations.map((e, i) => ({ ...e, id: i + 1, run_id: id, created_at: 1 })),
    notes: [],
    outputs: [],
    disk_bytes: 0,
    curves: [],
  };
}
