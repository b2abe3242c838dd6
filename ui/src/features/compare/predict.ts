// The predict box's logic: a classifier's answer as bars, most likely label first, each with its
// probability in words and a bar width; the text to classify checked before it is sent.

import { formatPercent, isNumber } from "./format";
import type { Prediction } from "./types";

/** One bar: a label, its probability as text, and the bar's width in percent (0-100). */
export type Bar = { label: string; probability: number | null; text: string; width: number; top: boolean };

/** A probability for ordering and drawing: an unknown one counts as 0. */
function share(p: number | null): number {
  return isNumber(p) ? Math.min(1, Math.max(0, p)) : 0;
}

/** The bars of `prediction`, most likely first (the app sends them sorted; sorted again here). */
export function predictionBars(prediction: Prediction): Bar[] {
  const sorted = [...prediction.probabilities].sort((a, b) => share(b.probability) - share(a.probability));
  return sorted.map((p, i) => {
    const clamped = share(p.probability);
    return {
      label: p.label,
      probability: p.probability,
      text: formatPercent(p.probability),
      width: Math.round(clamped * 1000) / 10,
      top: i === 0,
    };
  });
}

/** Why `text` cannot be classified, or `null` when it can. */
export function predictTextProblem(text: string): string | null {
  return text.trim() === "" ? "Type a text to classify first." : null;
}
