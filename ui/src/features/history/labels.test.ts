// Names and labels the History screens show instead of paths, registry ids and dotted keys.
import { describe, expect, it } from "vitest";
import { displayName, isMainSetting, methodName, metricRowLabel, savedFileLabel, settingLabel } from "./labels";

describe("history labels", () => {
  it("names a model or file by its name, not its path or registry prefix", () => {
    expect(displayName("/home/ada/.cache/huggingface/hub/models--HuggingFaceTB--SmolLM2-135M-Instruct/snapshots/12ab")).toBe("SmolLM2-135M-Instruct");
    expect(displayName("/home/ada/models/SmolLM2-135M-Instruct-Q4_1.gguf")).toBe("SmolLM2-135M-Instruct-Q4_1.gguf");
    expect(displayName("gguf/SmolLM2-135M-Instruct-Q4_1.gguf")).toBe("SmolLM2-135M-Instruct-Q4_1.gguf");
    expect(displayName("local/all-MiniLM-L6-v2")).toBe("all-MiniLM-L6-v2");
    expect(displayName("sentence-transformers/all-MiniLM-L6-v2")).toBe("sentence-transformers/all-MiniLM-L6-v2");
    expect(displayName("C:\\Users\\ada\\clinic faq.csv")).toBe("clinic faq.csv");
    expect(displayName("/data/reviews.csv")).toBe("reviews.csv");
  });

  it("labels settings in words", () => {
    expect(settingLabel("config.request.lr")).toBe("Learning rate");
    expect(settingLabel("run.model")).toBe("Model");
    expect(settingLabel("config.train.optimizer.weight_decay")).toBe("Weight decay (as trained)");
    expect(settingLabel("config.request.fixes.drop_duplicates")).toBe("Leave out duplicates");
    expect(settingLabel("lora.target_modules[1]")).toBe("Target modules (2)");
    expect(isMainSetting("config.request.lr")).toBe(true);
    expect(isMainSetting("config.train.lr")).toBe(false);
    // Shown by name at the top of a comparison; their raw values (paths) belong in the details.
    for (const key of ["config.request.model", "config.request.data", "config.request.method", "run.dataset"]) expect(isMainSetting(key)).toBe(false);
  });

  it("reads comparison rows as words and marks the detailed ones", () => {
    expect(metricRowLabel("eval test fine_tuned accuracy")).toEqual({ label: "Accuracy, fine-tuned model, test rows", metric: "accuracy", detail: false });
    expect(metricRowLabel("validation accuracy (best)").label).toBe("Accuracy on the validation rows (best)");
    const cell = metricRowLabel("eval test base confusion[0][1]");
    expect(cell.detail).toBe(true);
    expect(cell.label).toBe("Confusion matrix, true label 1 predicted as 2, base model, test rows");
    expect(metricRowLabel("eval test fine_tuned worst[3].true_probability")).toMatchObject({ detail: true, metric: "true_probability" });
    expect(metricRowLabel("eval test fine_tuned per_class[1].f1")).toMatchObject({ detail: true, metric: "f1", label: "Macro F1 of label 2, fine-tuned model, test rows".replace("Macro F1", "F1") });
  });

  it("reads the simple baselines recorded with a classifier's base as models of their own", () => {
    expect(metricRowLabel("eval test base baselines.bag_of_words.accuracy")).toEqual({ label: "Accuracy, word-count model, test rows", metric: "accuracy", detail: false });
    expect(metricRowLabel("eval test base baselines.majority.macro_f1").label).toBe("Macro F1, always the most common label, test rows");
    expect(metricRowLabel("eval test base baselines.majority.confusion[1][0]")).toMatchObject({ detail: true, label: "Confusion matrix, true label 2 predicted as 1, always the most common label, test rows" });
  });

  it("reads the fact recall of a generation run in words, its question count as a detail", () => {
    expect(metricRowLabel("validation fact_recall (last)")).toEqual({ label: "Right facts in the answers on the validation rows (last)", metric: "fact_recall", detail: false });
    expect(metricRowLabel("validation fact_recall_base (last)").label).toBe("Right facts, base model (answers) on the validation rows (last)");
    expect(metricRowLabel("validation fact_recall_total (last)").detail).toBe(true);
  });

  it("names methods in words", () => {
    expect(methodName("features")).toBe("Feature extraction");
    expect(methodName("lora")).toBe("LoRA");
    expect(methodName("something-new")).toBe("something-new");
  });

  it("names a saved comparison by its date, not its internal number", () => {
    const label = savedFileLabel(`/home/ada/.local/share/tunesmith/runs/r1/compare-${Date.UTC(2026, 11, 4, 17, 5)}.json`);
    expect(label).toMatch(/^the comparison of 4 Dec 2026, \d\d:05$/);
    expect(savedFileLabel("/x/notes.txt")).toBe("notes.txt");
  });
});
