import { afterEach, describe, expect, it } from "vitest";
import { goTo } from "./goto";

describe("goTo", () => {
  afterEach(() => history.replaceState(null, "", "#"));

  it("sets the screen's hash and tells the frame", () => {
    let heard = 0;
    const listener = () => (heard += 1);
    window.addEventListener("hashchange", listener);
    goTo("data");
    window.removeEventListener("hashchange", listener);
    expect(window.location.hash).toBe("#/data");
    expect(heard).toBe(1);
  });
});
