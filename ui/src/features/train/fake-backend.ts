// A scriptable stand-in for the app in tests: each training call hands its event callback and
// its settle functions to the test, which plays the run.
import type { TrainBackend } from "./backend";
import type { EstimateReport, EvalReport, RunDetails, RunEvent, RunSummary, SampleAnswer, TrainSummary } from "./types";

/** One training call the test controls. */
export interface Job {
  command: "train_start" | "train_resume" | "train_longer";
  jobId: string;
  arg: unknown;
  emit: (e: RunEvent) => void;
  finish: (s: TrainSummary) => void;
  fail: (e: unknown) => void;
}

/** A fake app and the calls it received. */
export function fakeBackend(answers: {
  estimate?: () => Promise<EstimateReport>;
  runs?: () => Promise<RunSummary[]>;
  evalRun?: (run: string) => Promise<EvalReport>;
  evalGenerationRun?: (run: string) => Promise<SampleAnswer[]>;
  runsShow?: (run: string) => Promise<RunDetails>;
  jobCancel?: (jobId: string) => Promise<void>;
} = {}) {
  const jobs: Job[] = [];
  const cancelled: string[] = [];
  const train = (command: Job["command"]) => (jobId: string, arg: unknown, emit: (e: RunEvent) => void) =>
    new Promise<TrainSummary>((finish, fail) => jobs.push({ command, jobId, arg, emit, finish, fail }));
  const backend: TrainBackend = {
    trainStart: train("train_start"),
    trainResume: train("train_resume"),
    trainLonger: (jobId, run, _moreEpochs, emit) => train("train_longer")(jobId, run, emit),
    jobCancel: (jobId) => {
      cancelled.push(jobId);
      return answers.jobCancel ? answers.jobCancel(jobId) : Promise.resolve();
    },
    estimate: () => (answers.estimate ? answers.estimate() : Promise.reject(new Error("no estimate"))),
    runsList: () => (answers.runs ? answers.runs() : Promise.resolve([])),
    runsShow: (run) => (answers.runsShow ? answers.runsShow(run) : Promise.reject(new Error("no details"))),
    evalRun: (run) => (answers.evalRun ? answers.evalRun(run) : Promise.reject(new Error("no eval"))),
    evalGenerationRun: (run) =>
      answers.evalGenerationRun ? answers.evalGenerationRun(run) : Promise.reject(new Error("no eval")),
  };
  return { backend, jobs, cancelled };
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
