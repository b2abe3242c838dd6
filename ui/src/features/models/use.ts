// "Use this model": what the shared selection records for a model, so the Data and Train screens
// find it (a hub id for downloaded models, the path for imports, whose registry ids are not paths).

import { currentSelection, updateSelection } from "../../shared/selection.svelte";
import { taskOfFamily } from "./catalog";
import type { ModelRecord } from "./types";

/** How training and the data doctor name this model. */
export function modelRef(model: ModelRecord): string {
  return model.source === "hub" ? model.id : model.path;
}

/** Makes `model` the current model; the task follows its family unless a dataset already set it. */
export function useModel(model: ModelRecord): void {
  const task = taskOfFamily(model.family);
  const hasData = currentSelection().data !== undefined;
  updateSelection({ model: modelRef(model), ...(task && !hasData ? { task } : {}) });
}

/** Whether `model` is the one selected now. */
export function isSelected(model: ModelRecord, selected: string | undefined): boolean {
  return selected !== undefined && (selected === modelRef(model) || selected === model.id);
}
