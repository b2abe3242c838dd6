// The maths of a virtualised table: which rows to render for a scroll position, and how tall the
// spacers above and below must be so the scroll bar keeps the full length. Rows have one fixed
// height; a few rows are rendered beyond each edge so fast scrolling shows no gap.

/** Where the viewport is and how the rows are sized. */
export type WindowInput = {
  /** Pixels scrolled from the top of the first row. */
  scrollTop: number;
  /** Visible height in pixels. */
  viewportHeight: number;
  /** Height of one row in pixels (> 0). */
  rowHeight: number;
  /** How many rows there are. */
  total: number;
  /** Extra rows rendered above and below the visible ones. */
  overscan?: number;
};

/** The rows to render, `[start, end)`, and the spacer heights around them. */
export type RowWindow = { start: number; end: number; padTop: number; padBottom: number };

/** The rows to render for `input`; never outside `[0, total)`, and empty for an empty table. */
export function visibleWindow(input: WindowInput): RowWindow {
  const { rowHeight, total } = input;
  const overscan = Math.max(0, Math.floor(input.overscan ?? 5));
  if (total <= 0 || !(rowHeight > 0)) return { start: 0, end: 0, padTop: 0, padBottom: 0 };
  const scrollTop = Math.max(0, Number.isFinite(input.scrollTop) ? input.scrollTop : 0);
  const viewport = Math.max(0, Number.isFinite(input.viewportHeight) ? input.viewportHeight : 0);
  const first = Math.min(total - 1, Math.floor(scrollTop / rowHeight));
  const visible = Math.max(1, Math.ceil(viewport / rowHeight) + 1);
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + visible + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (total - end) * rowHeight };
}
