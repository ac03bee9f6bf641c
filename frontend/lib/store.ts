// The app's state (zustand): generations seen so far by id (a queued one with its queue position), live
// progress, the player's track, the Generate form, the service's health, and the theme.
import { create } from "zustand";
import { createJSONStorage, persist } from "zustand/middleware";

import { batchIdOf } from "@/lib/batch";
import { DEFAULT_DRAFT } from "@/lib/generateRequest";
import type { GenerateDraft, Generation, Health, ModelStatus, ProgressEvent, Tab } from "@/types";

export { DEFAULT_DRAFT };

export type Theme = "system" | "light" | "dark";

export interface AppState {
  theme: Theme;
  tab: Tab;
  generations: Record<string, Generation>;
  progress: Record<string, ProgressEvent>;
  /** Jobs started from this page, newest first (the Generate tab follows them). */
  myJobs: string[];
  /** The variations of each batch seen so far, by batch id, in variation order (ids only). */
  batches: Record<string, string[]>;
  /** The batch the last request from this page made (the Generate tab shows it side by side); null after a single track. */
  latestBatch: string | null;
  currentId: string | null;
  /** Whether the player should play (a person asked for it): the player follows it, and reports back. */
  autoplay: boolean;
  /** Whether the player's audio is playing right now (the player reports it). */
  playing: boolean;
  draft: GenerateDraft;
  health: Health | null;
  /** Why the service cannot be reached (null when it answers). */
  healthError: string | null;
  modelStatus: ModelStatus | null;
  /** Bumped whenever the library changes (a job finished, a track was deleted): lists reload. */
  libraryVersion: number;

  setTheme: (theme: Theme) => void;
  setTab: (tab: Tab) => void;
  upsert: (items: Generation | Generation[]) => void;
  patch: (id: string, fields: Partial<Generation>) => void;
  forget: (id: string) => void;
  setProgress: (event: ProgressEvent) => void;
  addJob: (generation: Generation) => void;
  /** The records one request made (its variations, in order): followed here, the latest batch when more than one. */
  addJobs: (records: Generation[]) => void;
  /** A batch's ids in variation order (looked up for a list's badge). */
  setBatch: (batchId: string, ids: string[]) => void;
  /** Stop showing the latest batch side by side. */
  closeBatch: () => void;
  play: (id: string, autoplay?: boolean) => void;
  /** Pause the player (it keeps its track). */
  pause: () => void;
  setPlaying: (playing: boolean) => void;
  closePlayer: () => void;
  setDraft: (fields: Partial<GenerateDraft>) => void;
  /** Fill the Generate form from a generation (same prompt, parameters and seed) and open the tab. */
  reuse: (generation: Generation) => void;
  setHealth: (health: Health | null, error: string | null) => void;
  setModelStatus: (status: ModelStatus | null) => void;
  libraryChanged: () => void;
}

/** The session state a fresh page starts with (the theme, persisted, is not part of it). */
export const INITIAL_SESSION = {
  tab: "generate",
  generations: {},
  progress: {},
  myJobs: [],
  batches: {},
  latestBatch: null,
  currentId: null,
  autoplay: false,
  playing: false,
  draft: DEFAULT_DRAFT,
  health: null,
  healthError: null,
  modelStatus: null,
  libraryVersion: 0,
} satisfies Partial<AppState>;

export const useAppStore = create<AppState>()(
  persist(
    (set, get) => ({
      theme: "system",
      ...INITIAL_SESSION,

      setTheme: (theme) => set({ theme }),
      setTab: (tab) => set({ tab }),
      upsert: (items) =>
        set((state) => {
          const list = Array.isArray(items) ? items : [items];
          const generations = { ...state.generations };
          for (const item of list) generations[item.generation_id] = item;
          return { generations };
        }),
      patch: (id, fields) =>
        set((state) => {
          const existing = state.generations[id];
          if (!existing) return {};
          return { generations: { ...state.generations, [id]: { ...existing, ...fields } } };
        }),
      forget: (id) =>
        set((state) => {
          const generations = { ...state.generations };
          delete generations[id];
          return {
            generations,
            myJobs: state.myJobs.filter((job) => job !== id),
            ...(state.currentId === id ? { currentId: null, autoplay: false, playing: false } : {}),
            libraryVersion: state.libraryVersion + 1,
          };
        }),
      setProgress: (event) => set((state) => ({ progress: { ...state.progress, [event.generation_id]: event } })),
      addJob: (generation) => get().addJobs([generation]),
      addJobs: (records) =>
        set((state) => {
          const ids = records.map((record) => record.generation_id);
          const generations = { ...state.generations };
          for (const record of records) generations[record.generation_id] = record;
          const batchId = batchIdOf(records);
          return {
            generations,
            myJobs: [...ids, ...state.myJobs.filter((id) => !ids.includes(id))],
            ...(batchId ? { batches: { ...state.batches, [batchId]: ids } } : {}),
            latestBatch: batchId,
            libraryVersion: state.libraryVersion + 1,
          };
        }),
      setBatch: (batchId, ids) => set((state) => ({ batches: { ...state.batches, [batchId]: ids } })),
      closeBatch: () => set({ latestBatch: null }),
      play: (id, autoplay = true) => set((state) => ({ currentId: id, autoplay, playing: state.currentId === id && state.playing })),
      pause: () => set({ autoplay: false }),
      setPlaying: (playing) => set({ playing, autoplay: playing }),
      closePlayer: () => set({ currentId: null, autoplay: false, playing: false }),
      setDraft: (fields) => set((state) => ({ draft: { ...state.draft, ...fields } })),
      reuse: (g) =>
        set((state) => ({
          tab: "generate",
          draft: {
            ...state.draft,
            prompt: g.prompt,
            negative_prompt: g.negative_prompt ?? "",
            duration: Math.round(g.duration_requested || g.duration),
            device: state.draft.device,
            precision: state.draft.precision,
            top_k: g.top_k,
            top_p: g.top_p,
            temperature: g.temperature,
            cfg_coef: g.cfg_coef,
            seed: g.seed === null || g.seed === undefined ? "" : String(g.seed),
          },
        })),
      setHealth: (health, healthError) => set({ health, healthError }),
      setModelStatus: (modelStatus) => set({ modelStatus }),
      libraryChanged: () => set((state) => ({ libraryVersion: state.libraryVersion + 1 })),
    }),
    {
      name: "music-genie",
      version: 1,
      storage: createJSONStorage(() => localStorage),
      partialize: (state) => ({ theme: state.theme }),
    },
  ),
);
