// The Data screen's state keeps the user's choices across a restart: each new choice is saved as it
// is set, and read back (checked) by a new state.
import { afterEach, describe, expect, it } from "vitest";
import { KEYS } from "../../shared/persist";
import { freshChoices } from "./choices";
import { DataState } from "./state.svelte";

afterEach(() => window.localStorage.clear());

describe("the Data screen's state", () => {
  it("saves each choice as it is set and a new state reads it back, inspection left to be read again", () => {
    const state = new DataState();
    const choices = { ...freshChoices("/data/reviews.csv"), task: "generate" as const };
    state.choices = choices;
    expect(JSON.parse(window.localStorage.getItem(KEYS.dataChoices) ?? "null")).toMatchObject({ file: "/data/reviews.csv", task: "generate" });
    // Held as given, so the screen can tell a newer choice from an older one by identity.
    expect(state.choices).toBe(choices);
    const reopened = new DataState();
    expect(reopened.choices).toMatchObject({ file: "/data/reviews.csv", task: "generate" });
    expect(reopened.inspection).toBeNull();
  });

  it("forgets the choices when they are cleared", () => {
    const state = new DataState();
    state.choices = freshChoices("/data/a.csv");
    state.choices = null;
    expect(new DataState().choices).toBeNull();
  });
});
