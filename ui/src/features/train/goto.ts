// Opening another screen from inside a screen that has no `navigate` prop: the frame (App.svelte)
// follows `hashchange`, so the hash is replaced (no navigation: WebKit's WebDriver hangs on a hash
// assignment inside the app's protocol, see App.svelte) and the event is sent by hand.

import { hashFor, type ScreenId } from "../../shared/navigation";

/** Shows screen `id`. */
export function goTo(id: ScreenId): void {
  history.replaceState(history.state, "", hashFor(id));
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
