import { describe, expect, it } from "vitest";
import { exportRequest, jobFolder, missing, suggestedName, trainersFor } from "./choices";
import type { TrainRequest } from "../train/types";

const train = { model: "/models/SmolLM2-135M", data: "/data/facts.csv", task: "generate", method: "lora" } as TrainRequest;

describe("the Run elsewhere choices", () => {
  it("offers Axolotl for generation only", () => {
    expect(trainersFor("generate").map((t) => t.id)).toEqual(["trl", "axolotl"]);
    expect(trainersFor("classify").map((t) => t.id)).toEqual(["trl"]);
  });

  it("says what is missing before a job can be written", () => {
    expect(missing(null, "job")).toMatch(/Choose the folder/);
    expect(missing("/tmp", "  ")).toMatch(/name/);
    expect(missing("/tmp", "a/b")).toMatch(/cannot contain/);
    expect(missing("/tmp", "job")).toBeNull();
  });

  it("puts the job folder inside the chosen one with that folder's separator", () => {
    expect(jobFolder("/home/me", "job")).toBe("/home/me/job");
    expect(jobFolder("/home/me/", " job ")).toBe("/home/me/job");
    expect(jobFolder("C:\\Users\\me", "job")).toBe("C:\\Users\\me\\job");
  });

  it("suggests a folder name from the model and the method", () => {
    expect(suggestedName(train)).toBe("SmolLM2-135M-lora-job");
    expect(suggestedName({ ...train, model: "owner/My Model:1" })).toBe("My-Model-1-lora-job");
  });

  it("sends the Train form's own request unchanged", () => {
    expect(exportRequest(train, "axolotl", "/j")).toEqual({ train, trainer: "axolotl", out: "/j" });
  });
});
