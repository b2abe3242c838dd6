// Moving to another screen from a screen that the frame gives no `navigate` function (Models, Data
// and History take no props). The frame follows the location hash, so this sets it the way the
// frame itself does (replaceState: assigning `location.hash` hangs WebKit's WebDriver inside the
// app's protocol, see App.svelte) and tells the frame with the `hashchange` it listens for.

import { hashFor, type ScreenId } from "../../shared/navigation";

/** Shows screen `id`. */
export function goTo(id: ScreenId): void {
  const hash = hashFor(id);
  if (window.location.hash !== hash) history.replaceState(history.state, "", hash);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
