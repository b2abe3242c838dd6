// Moving to another screen from Chat & Compare, which the frame gives no `navigate` function. The
// frame follows the location hash: set it the way the frame does (replaceState, since assigning
// `location.hash` hangs WebKit's WebDriver inside the app's protocol) and announce the change with
// the `hashchange` event the frame listens for.

import { hashFor, type ScreenId } from "../../shared/navigation";

/** Shows screen `id`. */
export function goTo(id: ScreenId): void {
  const hash = hashFor(id);
  if (window.location.hash !== hash) history.replaceState(history.state, "", hash);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
