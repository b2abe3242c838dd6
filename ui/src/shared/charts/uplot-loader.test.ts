// The chart library loads under a C locale, which WebKitGTK reports as the invalid language "C".
import { afterEach, describe, expect, it } from "vitest";
import { isValidLanguage, loadUPlot } from "./uplot-loader";

const proto = Object.getPrototypeOf(navigator) as object;
const original = Object.getOwnPropertyDescriptor(proto, "language");

afterEach(() => {
  if (original) Object.defineProperty(proto, "language", original);
});

describe("uplot loader", () => {
  it("tells a usable language tag from the C locale's", () => {
    expect(isValidLanguage("en-US")).toBe(true);
    expect(isValidLanguage("C")).toBe(false);
    expect(isValidLanguage(undefined)).toBe(false);
  });

  it("loads uPlot while the browser reports the language C, and leaves the language as it was", async () => {
    Object.defineProperty(proto, "language", { get: () => "C", configurable: true });
    const uPlot = await loadUPlot();
    expect(typeof uPlot).toBe("function");
    expect(navigator.language).toBe("C");
  });
});
