// Entry point: applies the theme before the first paint, then mounts the app.

import { mount } from "svelte";
import App from "./app/App.svelte";
import { applyTheme, DARK_QUERY, loadPreference, resolveTheme } from "./app/theme";
import "./shared/styles/app.css";

applyTheme(
  document.documentElement,
  resolveTheme(loadPreference(window.localStorage), window.matchMedia(DARK_QUERY).matches),
);

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element to mount Tunesmith in");

export default mount(App, { target });
