// How sizes, rates, times left and parameter counts read to a person: "1.4 GB", "12.3 MB/s",
// "about 2 min left", "135M parameters". Pure, so every rounding rule is unit-tested.

const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB"] as const;

/**
 * Bytes in decimal units (1 KB = 1000 B, as file managers and the hub show them), with three
 * significant digits at most: `0 B`, `950 B`, `1.4 KB`, `12.3 MB`, `482 MB`, `1.07 GB`.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "unknown size";
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  // Three significant digits, without a trailing ".0".
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  const fixed = value.toFixed(digits);
  const text = digits > 0 ? fixed.replace(/\.?0+$/, "") : fixed;
  return `${text} ${BYTE_UNITS[unit]}`;
}

/** A transfer rate: `12.3 MB/s`; `—` before anything has arrived. */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * Seconds left, rounded the way a person says them: `less than 5 s`, `40 s`, `about 3 min`,
 * `about 1 h 20 min`; `unknown` when the rate cannot tell yet.
 */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return "unknown";
  }
  if (seconds < 5) return "less than 5 s";
  if (seconds < 60) return `${Math.round(seconds / 5) * 5} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `about ${hours} h` : `about ${hours} h ${rest} min`;
}

/** A parameter count: `23M`, `135M`, `1.2B`, `494M`; `?` when unknown. */
export function formatParameters(count: number | null | undefined): string {
  if (count === null || count === undefined || !Number.isFinite(count) || count <= 0) return "?";
  if (count >= 1e9) return `${trim(count / 1e9)}B`;
  if (count >= 1e6) return `${trim(count / 1e6)}M`;
  if (count >= 1e3) return `${trim(count / 1e3)}K`;
  return String(Math.round(count));
}

function trim(value: number): string {
  return value >= 10 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, "");
}

/** A whole count with thousands separators: `12,345`. */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString("en-US");
}

/** `done` of `total` as a whole percentage clamped to 0..100; 0 when the total is unknown. */
export function percent(done: number, total: number): number {
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.floor((done / total) * 100)));
}
