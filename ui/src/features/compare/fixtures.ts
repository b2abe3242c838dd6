// Test fixtures for the Chat & Compare modules: answers, passages, reports and runs shaped exactly
// as the app serialises them. Used by the *.test.ts files only.

import type {
  ChatAnswer,
  CitedPassage,
  CompareReport,
  ConfigurationScores,
  IngestReport,
  ModelRecord,
  Prediction,
  RunSummary,
} from "./types";

export function passage(number: number, overrides: Partial<CitedPassage> = {}): CitedPassage {
  return {
    number,
    citation: `[${number}] source: clinic-hours.md, lines 3-7`,
    source: "/docs/clinic-hours.md",
    location: "lines 3-7",
    score: 0.0328,
    text: "The clinic is open on Saturdays from 9 to 12.",
    semantic_score: 0.71,
    keyword_score: 4.2,
    ...overrides,
  };
}

export function chatAnswer(overrides: Partial<ChatAnswer> = {}): ChatAnswer {
  return {
    text: "Saturdays 9 to 12.",
    tokens: 8,
    tokens_per_s: 20,
    prompt_tokens: 30,
    prompt_seconds: 0.1,
    generation_seconds: 0.4,
    stop: { reason: "stop_token", token: 2 },
    passages: [],
    answer_length: { max_tokens: 48, basis: "the 95th percentile of 400 training answers (48 tokens)" },
    ...overrides,
  };
}

export function run(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    id: "run-gen-1",
    name: "clinic-lora",
    task: "generate",
    method: "lora",
    model: "HuggingFaceTB/SmolLM2-135M-Instruct",
    dataset: "clinic.csv",
    status: "finished",
    best_metric: null,
    started_at: 1_700_000_000_000,
    created_at: 1_700_000_000_000,
    duration_ms: 60_000,
    ...overrides,
  };
}

export function model(overrides: Partial<ModelRecord> = {}): ModelRecord {
  return {
    id: "HuggingFaceTB/SmolLM2-135M-Instruct",
    source: "hub",
    revision: "main",
    context_length: 8192,
    size_on_disk: 269_060_552,
    path: "/cache/models--HuggingFaceTB--SmolLM2-135M-Instruct/snapshots/abc",
    architecture: "LlamaForCausalLM",
    family: "decoder",
    supported: true,
    unsupported_reason: null,
    parameters: 134_515_008,
    ...overrides,
  };
}

function scores(configuration: ConfigurationScores["configuration"], label: string, f1: number): ConfigurationScores {
  return {
    configuration,
    label,
    exact_match: f1 / 2,
    token_f1: f1,
    rouge_l: f1 - 0.01,
    bleu: f1 * 50,
    mean_answer_tokens: 12.5,
    mean_latency_s: 1 + f1,
    tokens_per_s: 18,
    facts_correct: 0,
    facts_total: 0,
  };
}

export function compareReport(): CompareReport {
  return {
    questions_file: "/data/questions.csv",
    model: "/models/smol",
    run: "run-gen-1",
    rag: "clinic-docs",
    answer_length: { max_tokens: 48, basis: "the 95th percentile of 400 training answers (48 tokens)" },
    questions_in_file: 1,
    configurations: [
      scores("base", "base", 0.1),
      scores("fine_tuned", "fine-tuned", 0.3),
      scores("base_rag", "base + documents", 0.51),
      scores("fine_tuned_rag", "fine-tuned + documents", 0.2),
    ],
    questions: [
      {
        line: 2,
        question: "When is the clinic open on Saturday?",
        reference: "From 9 to 12.",
        facts: [],
        answers: [
          {
            configuration: "base",
            text: "I do not know.",
            tokens: 5,
            latency_s: 0.8,
            exact_match: 0,
            token_f1: 0,
            rouge_l: 0,
            bleu: 0,
            passages: [],
            contains_fact: null,
            facts_found: [],
            facts_missing: [],
          },
        ],
      },
    ],
    verdict: {
      text: "Your documents are enough: base + documents beats fine-tuned by 0.21 token F1 over 10 questions.",
      metric: "token_f1",
      winner: "base_rag",
      runner_up: "fine_tuned",
      margin: 0.21,
      details: "Your documents are enough: base + documents beats fine-tuned by 0.21 token F1 over 10 questions.",
    },
    saved: "/home/runs/run-gen-1/compare/compare-1.json",
  };
}

export function ingestReport(): IngestReport {
  return {
    files: [
      { source: "/docs/a.md", status: "added", chunks: 4, problem: null, message: null, warnings: [] },
      { source: "/docs/b.txt", status: "unchanged", chunks: 2, problem: null, message: null, warnings: [] },
      {
        source: "/docs/empty.txt",
        status: "skipped",
        chunks: 0,
        problem: { kind: "empty" },
        message: "empty: it holds no text",
        warnings: [],
      },
      {
        source: "/docs/huge.txt",
        status: "skipped",
        chunks: 0,
        problem: { kind: "too_large", bytes: 52_428_800, limit: 20_000_000 },
        message: null,
        warnings: [],
      },
      {
        source: "/docs/latin1.txt",
        status: "added",
        chunks: 1,
        problem: null,
        message: null,
        warnings: ["not UTF-8: read as Windows-1252"],
      },
    ],
    removed: ["/docs/old.md"],
    rebuilt: null,
    documents: 3,
    chunks: 7,
  };
}

export function prediction(): Prediction {
  return {
    run_id: "run-cls-1",
    text: "My card was charged twice",
    label: "billing",
    probabilities: [
      { label: "billing", probability: 0.873 },
      { label: "technical", probability: 0.1 },
      { label: "other", probability: 0.027 },
    ],
  };
}

/** A comparison judged by facts: two questions, base alone and base + documents. */
export function factReport(): CompareReport {
  const answer = (configuration: "base" | "base_rag", text: string, right: boolean) => ({
    configuration,
    text,
    tokens: 6,
    latency_s: 1,
    exact_match: 0,
    token_f1: 0.2,
    rouge_l: 0.2,
    bleu: 5,
    passages: configuration === "base_rag" ? ["prices.md"] : [],
    contains_fact: right,
    facts_found: right ? ["58 euros"] : [],
    facts_missing: right ? [] : ["58 euros"],
  });
  const r = compareReport();
  return {
    ...r,
    run: null,
    questions_in_file: 2,
    configurations: [
      { ...r.configurations[0], facts_correct: 0, facts_total: 2 },
      { ...r.configurations[2], facts_correct: 1, facts_total: 2 },
    ],
    questions: [
      {
        line: 2,
        question: "What does a consultation cost?",
        reference: "A consultation costs 58 euros.",
        facts: ["58 euros"],
        answers: [answer("base", "Between $20 and $50.", false), answer("base_rag", "It costs 58 euros.", true)],
      },
      {
        line: 3,
        question: "Who sees cats?",
        reference: "Dr. Anna Weber sees cats.",
        facts: ["Dr Anna Weber"],
        answers: [answer("base", "A vet.", false), answer("base_rag", "Dr Weber, Anna.", false)],
      },
    ],
    verdict: {
      text: "Your documents helped. The base model with your documents: 1 of 2 answers contained the right fact; the base model alone: 0.",
      metric: "fact_recall",
      winner: "base_rag",
      runner_up: "base",
      margin: 0.5,
      details: "Your documents helped: base + documents beats base by 0.05 token F1 over 2 questions.",
    },
  };
}
