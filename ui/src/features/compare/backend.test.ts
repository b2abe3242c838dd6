import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Channel } from "@tauri-apps/api/core";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { indexesOf, modelsOf, runsOf, tauriBackend } from "./backend";
import { chatAnswer, model, run } from "./fixtures";
import type { ChatEvent } from "./types";

afterEach(() => clearMocks());

describe("the backend's lists", () => {
  it("read a ModelList's models, and anything else as no models", () => {
    expect(modelsOf({ cache_dir: "/c", offline: false, models: [model()] })).toEqual([model()]);
    expect(modelsOf([model()])).toEqual([model()]);
    expect(modelsOf({ device: {} })).toEqual([]);
    expect(modelsOf(null)).toEqual([]);
  });

  it("read indexes by name and drop anything nameless", () => {
    const entry = { name: "a", path: "/r/a.sqlite3", settings: null, documents: 2, chunks: 9 };
    expect(indexesOf([entry])).toEqual([entry]);
    expect(indexesOf([{ nameless: true }, "x", null])).toEqual([]);
    expect(indexesOf({ device: {} })).toEqual([]);
  });

  it("read runs with an id and a name only", () => {
    expect(runsOf([run(), { id: "x" }, 3])).toEqual([run()]);
    expect(runsOf({ device: {} })).toEqual([]);
  });
});

describe("the backend's commands", () => {
  it("call chat with the job id and request, and stream its events through the channel", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const channel = a.onEvent as Channel<ChatEvent>;
      channel.onmessage({ event: "delta", text: "Hi" });
      channel.onmessage({ event: "done", ...chatAnswer({ text: "Hi" }) });
      return chatAnswer({ text: "Hi" });
    });
    const events: ChatEvent[] = [];
    const request = {
      model: "/m",
      run: null,
      rag: null,
      prompt: "Hello?",
      system: null,
      max_tokens: 16,
      temperature: null,
      seed: null,
    };
    const answer = await tauriBackend.chat("job-1", request, (e) => events.push(e));
    expect(answer.text).toBe("Hi");
    expect(calls[0].cmd).toBe("chat");
    expect(calls[0].args.jobId).toBe("job-1");
    expect(calls[0].args.request).toEqual(request);
    expect(events.map((e) => e.event)).toEqual(["delta", "done"]);
  });

  it("turn the app's { code, message } into an ApiError", async () => {
    mockIPC(() => {
      throw { code: "chat", message: "name a model (--model) or a fine-tuned run (--run)" };
    });
    const err = await tauriBackend.predict("r", "t").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("chat");
    expect((err as ApiError).message).toMatch(/name a model/);
  });

  it("turn a plain refusal into an ApiError with code ipc", async () => {
    mockIPC(() => {
      throw "command job_cancel not found";
    });
    const err = await tauriBackend.jobCancel("j").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("ipc");
  });

  it("send each command its own arguments", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === "runs_list") return [run(), { bogus: 1 }];
      if (cmd === "rag_list") return [];
      if (cmd === "models_list") return { models: [] };
      return null;
    });
    expect(await tauriBackend.runsList()).toHaveLength(1);
    await tauriBackend.ragList();
    await tauriBackend.modelsList();
    await tauriBackend.predict("run-1", "some text");
    await tauriBackend.jobCancel("job-9");
    expect(seen.map(([c]) => c)).toEqual(["runs_list", "rag_list", "models_list", "predict", "job_cancel"]);
    expect(seen[3][1]).toEqual({ run: "run-1", text: "some text" });
    expect(seen[4][1]).toEqual({ jobId: "job-9" });
  });
});
