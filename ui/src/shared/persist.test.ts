// The choices kept across a restart: stored as JSON, read back only when they have the right shape.
import { describe, expect, it } from "vitest";
import { acceptChoices } from "../features/data/state.svelte";
import { KEYS, load, type KeyValueStore } from "./persist";
import { Persisted } from "./persisted.svelte";
import { acceptSelection } from "./selection.svelte";
import { acceptForm } from "../features/train/session.svelte";

function memory(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

describe("kept choices", () => {
  it("come back after a restart as they were left", () => {
    const storage = memory();
    const before = new Persisted(KEYS.selection, {}, acceptSelection, storage);
    before.current = { model: "/models/smol.gguf", data: "/data/faq.csv", task: "generate", rows: 40 };
    // The app starts again: a new kept value over the same storage.
    const after = new Persisted(KEYS.selection, {}, acceptSelection, storage);
    expect(after.current).toEqual({ model: "/models/smol.gguf", data: "/data/faq.csv", task: "generate", rows: 40 });
  });

  it("drop what cannot be read back instead of trusting it", () => {
    const storage = memory();
    storage.setItem(KEYS.selection, "{not json");
    expect(new Persisted(KEYS.selection, { model: "fresh" }, acceptSelection, storage).current).toEqual({ model: "fresh" });
    storage.setItem(KEYS.selection, JSON.stringify({ model: 42, data: "/d.csv", task: "dance", columns: ["a", 1] }));
    expect(load(storage, KEYS.selection, acceptSelection)).toEqual({ data: "/d.csv" });
  });

  it("keep the Data screen's choices and the Train form, each field checked", () => {
    const choices = acceptChoices({ file: "/d.csv", task: "classify", text_column: "review", fixes: { drop_duplicates: true, drop_empty: "yes" } });
    expect(choices).toMatchObject({ file: "/d.csv", task: "classify", text_column: "review", label_column: null });
    expect(choices?.fixes.drop_duplicates).toBe(true);
    expect(choices?.fixes.drop_empty).toBe(false);
    expect(acceptChoices({ task: "classify" })).toBeNull();
    const form = acceptForm({ model: "/m", method: "features", methodChosen: true, params: { lr: 0.001, epochs: "many" } });
    expect(form).toMatchObject({ model: "/m", method: "features", methodChosen: true });
    expect(form?.params.lr).toBe(0.001);
    expect(typeof form?.params.epochs).toBe("number");
  });

  it("survive a storage that refuses to write", () => {
    const storage = memory();
    storage.setItem = () => {
      throw new Error("quota");
    };
    const kept = new Persisted(KEYS.trainForm, { a: 1 }, () => null, storage);
    kept.current = { a: 2 };
    expect(kept.current).toEqual({ a: 2 });
  });
});
