import { describe, expect, it } from "vitest";
import { formatBytes, formatCount, formatEta, formatParameters, formatRate, percent } from "./format";

describe("formatBytes", () => {
  it("reads bytes in decimal units with at most three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(950)).toBe("950 B");
    expect(formatBytes(1400)).toBe("1.4 KB");
    expect(formatBytes(12_345_678)).toBe("12.3 MB");
    expect(formatBytes(482_000_000)).toBe("482 MB");
    expect(formatBytes(270_000_000)).toBe("270 MB");
    expect(formatBytes(100_000)).toBe("100 KB");
    expect(formatBytes(1_070_000_000)).toBe("1.07 GB");
    expect(formatBytes(2_000_000_000)).toBe("2 GB");
  });

  it("says the size is unknown rather than printing NaN or a negative size", () => {
    expect(formatBytes(Number.NaN)).toBe("unknown size");
    expect(formatBytes(-1)).toBe("unknown size");
  });
});

describe("formatRate", () => {
  it("shows a dash until bytes arrive, then bytes per second", () => {
    expect(formatRate(0)).toBe("—");
    expect(formatRate(12_300_000)).toBe("12.3 MB/s");
  });
});

describe("formatEta", () => {
  it("rounds the time left the way a person says it", () => {
    expect(formatEta(2)).toBe("less than 5 s");
    expect(formatEta(41)).toBe("40 s");
    expect(formatEta(185)).toBe("about 3 min");
    expect(formatEta(3600)).toBe("about 1 h");
    expect(formatEta(4800)).toBe("about 1 h 20 min");
  });

  it("says unknown when the rate cannot tell yet", () => {
    expect(formatEta(null)).toBe("unknown");
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe("unknown");
  });
});

describe("formatParameters", () => {
  it("writes parameter counts as the hub does", () => {
    expect(formatParameters(22_713_216)).toBe("23M");
    expect(formatParameters(134_515_008)).toBe("135M");
    expect(formatParameters(1_236_000_000)).toBe("1.2B");
    expect(formatParameters(4_400)).toBe("4.4K");
    expect(formatParameters(null)).toBe("?");
  });
});

describe("formatCount and percent", () => {
  it("separates thousands", () => {
    expect(formatCount(12345)).toBe("12,345");
  });

  it("clamps the percentage and treats an unknown total as zero", () => {
    expect(percent(50, 200)).toBe(25);
    expect(percent(300, 200)).toBe(100);
    expect(percent(10, 0)).toBe(0);
  });
});
