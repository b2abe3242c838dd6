// A run's "Used after training" list: predicted files and corrected copies, from its history.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import RunOutputs from "./RunOutputs.svelte";
import type { OutputRecord } from "../../bindings";

let shown: ReturnType<typeof mount> | undefined;
afterEach(() => {
  if (shown) unmount(shown);
  shown = undefined;
  document.body.innerHTML = "";
});

const output = (id: number, kind: OutputRecord["kind"], detail: OutputRecord["detail"]): OutputRecord => ({
  id,
  run_id: "r",
  kind,
  source: "/d/in.csv",
  path: kind === "predictions" ? "/d/in.predicted.csv" : "/d/in.corrected.csv",
  rows: 1200,
  detail,
  created_at: 1,
});

describe("Used after training", () => {
  it("lists predicted files and corrected copies with their counts", () => {
    shown = mount(RunOutputs, {
      target: document.body,
      props: { outputs: [output(1, "predictions", { unreadable: 2 }), output(2, "corrected_data", { relabel: [{ line: 4, label: "neg" }], leave_out: [5, 6] })] },
    });
    flushSync();
    expect(document.querySelector("[data-output=predictions]")!.textContent).toContain("Predicted 1,200 rows");
    expect(document.querySelector("[data-output=predictions]")!.textContent).toContain("2 unreadable rows reported");
    expect(document.querySelector("[data-output=corrected_data]")!.textContent).toContain("1 relabelled, 2 left out");
  });

  it("shows nothing when the run was not used yet", () => {
    shown = mount(RunOutputs, { target: document.body, props: { outputs: [] } });
    flushSync();
    expect(document.querySelector("[data-run-outputs]")).toBeNull();
  });
});
