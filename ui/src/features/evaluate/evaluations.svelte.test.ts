// The Evaluate screen's state: which runs can be evaluated, the pick, and results kept per run.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { Evaluations, evaluable } from "./evaluations.svelte";
import { fakeBackend } from "../train/fake-backend";
import { evalReport, runDetails, runSummary } from "../train/fixtures";

describe("evaluations", () => {
  it("offers finished and stopped runs, not running or failed ones", () => {
    const runs = [runSummary("a"), runSummary("b", { status: "running" }), runSummary("c", { status: "failed" }), runSummary("d", { status: "interrupted" })];
    expect(evaluable(runs).map((r) => r.id)).toEqual(["a", "d"]);
  });

  it("picks the run just trained when asked, else the newest", async () => {
    const fake = fakeBackend({ runs: () => Promise.resolve([runSummary("new"), runSummary("old")]) });
    const e = new Evaluations(fake.backend);
    await e.refresh(null);
    expect(e.state.selected).toBe("new");
    await e.refresh("old");
    expect(e.state.selected).toBe("old");
  });

  it("keeps a classification result per run and a failure with its action", async () => {
    const fake = fakeBackend({
      runs: () => Promise.resolve([runSummary("a"), runSummary("b")]),
      evalRun: (run) => (run === "a" ? Promise.resolve(evalReport()) : Promise.reject(new ApiError({ code: "engine", message: "cannot read run.json" }))),
    });
    const e = new Evaluations(fake.backend);
    await e.refresh();
    await e.evaluate("a");
    await e.evaluate("b");
    const s = e.state;
    expect(s.results.a.kind).toBe("classification");
    expect(s.results.b).toMatchObject({ kind: "failed", problem: { message: "cannot read run.json" } });
    e.dismiss("b");
    expect(e.state.results.b).toBeUndefined();
  });

  it("scores a generation run's test responses first, then reads the recorded scores from its details", async () => {
    const details = runDetails("g", "generate");
    const samples = [{ prompt: "Code word for Alder?", reference: "Bluebird", base: "Alder", fine_tuned: "Bluebird" }];
    const order: string[] = [];
    const fake = fakeBackend({
      runs: () => Promise.resolve([runSummary("g", { task: "generate" })]),
      evalGenerationRun: () => (order.push("eval"), Promise.resolve(samples)),
      runsShow: () => (order.push("show"), Promise.resolve(details)),
    });
    const e = new Evaluations(fake.backend);
    await e.refresh();
    await e.evaluate("g");
    expect(order).toEqual(["eval", "show"]);
    expect(e.state.results.g).toEqual({ kind: "generation", details, samples });
  });

  it("says why when the runs cannot be listed", async () => {
    const fake = fakeBackend({ runs: () => Promise.reject(new ApiError({ code: "store_corrupt", message: "damaged" })) });
    const e = new Evaluations(fake.backend);
    await e.refresh();
    expect(e.state.listProblem?.action).toContain("History");
  });
});
