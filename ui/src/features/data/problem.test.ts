import { describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { dataProblem } from "./problem";

describe("the Data screen's banner when a file cannot be checked", () => {
  it("blames the model, not the file, for a model error", () => {
    const p = dataProblem(new ApiError({ code: "model", message: "tokenizer.json could not be read" }), "/d/train.csv", "/models/smollm2.gguf");
    expect(p.title).toBe("The model smollm2.gguf could not be used to count tokens");
    expect(p.action).toContain("Your file is not the problem");
    expect(p.message).toBe("tokenizer.json could not be read");
  });

  it("points at the setting for an invalid request and at the file for a data error", () => {
    expect(dataProblem(new ApiError({ code: "invalid", message: "--max-len must be at least 1" }), "/d/a.csv", null).action).toContain(
      "Change the setting the message names",
    );
    const data = dataProblem(new ApiError({ code: "data", message: "line 3: bad quote" }), "/d/a.csv", null);
    expect(data.title).toBe("/d/a.csv could not be read");
    expect(data.action).toContain("CSV, TSV or JSONL");
    expect(dataProblem(new Error("boom"), "/d/a.csv", null).action).toBe("Check the path and try again.");
  });
});
