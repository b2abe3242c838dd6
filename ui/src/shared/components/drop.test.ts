import { describe, expect, it } from "vitest";
import { listenForDrops, pickDropped } from "./drop";

describe("drops", () => {
  it("takes the first dropped path the screen accepts", () => {
    const csv = (p: string) => p.endsWith(".csv");
    expect(pickDropped(["/a/model.gguf", "/a/data.csv"], csv)).toEqual({ path: "/a/data.csv", first: "/a/model.gguf" });
    expect(pickDropped(["/a/model.gguf"], csv)).toEqual({ path: null, first: "/a/model.gguf" });
    expect(pickDropped([], csv)).toEqual({ path: null, first: null });
  });

  it("offers no drops outside the app's window", async () => {
    expect(await listenForDrops({ over: () => {}, leave: () => {}, drop: () => {} })).toBeNull();
  });
});
