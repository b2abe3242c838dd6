import { afterEach, describe, expect, it } from "vitest";
import { currentSelection, selection } from "../../shared/selection.svelte";
import type { ModelRecord } from "./types";
import { isSelected, modelRef, useModel } from "./use";

const model = (over: Partial<ModelRecord>): ModelRecord => ({
  id: "o/bert",
  source: "hub",
  path: "/cache/models--o--bert/snapshots/abc",
  revision: "abc",
  architecture: "BertModel",
  family: "encoder",
  supported: true,
  unsupported_reason: null,
  parameters: 1,
  context_length: 512,
  size_on_disk: 10,
  ...over,
});

afterEach(() => {
  selection.current = {};
});

describe("use this model", () => {
  it("records a hub model by id and an import by path", () => {
    expect(modelRef(model({}))).toBe("o/bert");
    expect(modelRef(model({ id: "local/tiny", source: "local", path: "/m/tiny" }))).toBe("/m/tiny");
  });

  it("sets the model and the task its family trains", () => {
    useModel(model({ family: "decoder" }));
    expect(currentSelection()).toEqual({ model: "o/bert", task: "generate" });
    expect(isSelected(model({}), "o/bert")).toBe(true);
  });

  it("leaves the task alone once a dataset has decided it", () => {
    selection.current = { data: "/d.csv", task: "classify" };
    useModel(model({ family: "decoder" }));
    expect(currentSelection().task).toBe("classify");
    expect(currentSelection().model).toBe("o/bert");
  });
});
