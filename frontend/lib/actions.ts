// Actions on one generation that several places offer (Generate form, player, History, Popular).
import { ApiError, api } from "@/lib/api";
import { batchRecords, variationOrder } from "@/lib/batch";
import { extendRequest, validateExtension } from "@/lib/extend";
import { VARIATIONS } from "@/lib/generateRequest";
import { useAppStore } from "@/lib/store";
import { forgetToken, rememberTokens, tokenFor } from "@/lib/tokens";
import { stop, track } from "@/lib/tracker";
import type { AudioFormat, GenerateRequest, Generation } from "@/types";
import { isActive } from "@/types";

/**
 * Queue a generation (continuing `audio`, when given), keep its token (only its creator gets one), and
 * follow it. With `variations` > 1 the request makes several records: each is followed and gets the
 * one token (it authorises cancel and delete of any of them). Answers the records, in variation order.
 */
export async function startGenerations(body: GenerateRequest, audio?: File): Promise<Generation[]> {
  const created = await api.generate(body, audio);
  const records = batchRecords(created);
  rememberTokens(
    records.map((record) => record.generation_id),
    created.token,
  );
  useAppStore.getState().addJobs(records);
  for (const record of records) track(record.generation_id);
  return records;
}

/** Queue a generation and follow it (every variation it makes); answers the first record. */
export async function startGeneration(body: GenerateRequest, audio?: File): Promise<Generation> {
  const [first] = await startGenerations(body, audio);
  return first;
}

/**
 * Extend a finished track by `added` seconds: queue its continuation (same prompt and sampling
 * settings, a new seed), follow it like any job started here, and open the Generate tab, where its
 * progress shows among the latest generations.
 */
export async function extendGeneration(generation: Generation, added: number): Promise<Generation> {
  const invalid = validateExtension(generation, added);
  if (invalid) throw new ApiError(422, "validation_error", invalid, { field: "duration" });
  const record = await startGeneration(extendRequest(generation, added));
  useAppStore.getState().setTab("generate");
  return record;
}

/** The record of a generation the page has not seen (a continuation's parent), once per id. */
const lookups = new Map<string, Promise<Generation | null>>();
export function lookUpGeneration(id: string): Promise<Generation | null> {
  const known = useAppStore.getState().generations[id];
  if (known) return Promise.resolve(known);
  let pending = lookups.get(id);
  if (!pending) {
    pending = api.generation(id).then(
      (record) => {
        useAppStore.getState().upsert(record);
        return record;
      },
      (error) => {
        // Gone (deleted): say "another track" from now on; unreachable: ask again next time.
        if (!(error instanceof ApiError && error.status === 404)) lookups.delete(id);
        return null;
      },
    );
    lookups.set(id, pending);
  }
  return pending;
}

/** The ids of a batch's variations, in order, from GET /recent?batch_id=... (once per batch; null: unknown). */
const batchLookups = new Map<string, Promise<string[] | null>>();
export function lookUpBatch(batchId: string): Promise<string[] | null> {
  const known = useAppStore.getState().batches[batchId];
  if (known) return Promise.resolve(known);
  let pending = batchLookups.get(batchId);
  if (!pending) {
    pending = api.recent(VARIATIONS.max, { batch_id: batchId }).then(
      (list) => {
        const ids = variationOrder(list.items);
        useAppStore.getState().setBatch(batchId, ids);
        return ids;
      },
      () => {
        batchLookups.delete(batchId); // ask again next time
        return null;
      },
    );
    batchLookups.set(batchId, pending);
  }
  return pending;
}

/** Forget the look-ups made so far (tests). */
export const forgetLookUps = (): void => {
  lookups.clear();
  batchLookups.clear();
};

/** Set the favourite flag (not a toggle: a repeated click cannot flip it back). */
export async function setFavorite(id: string, favorite: boolean): Promise<boolean> {
  const answer = await api.setFavorite(id, favorite);
  useAppStore.getState().patch(id, { is_favorited: answer.is_favorited });
  return answer.is_favorited;
}

export const ONLY_THE_CREATOR = "Only the browser that created a generation can cancel or delete it.";

function forgetGeneration(id: string): void {
  stop(id);
  forgetToken(id);
  useAppStore.getState().forget(id);
}

/**
 * Cancel an active job (it stays, as canceled) or delete a finished one (it goes, with its file and
 * token). Needs the token this browser got when it created the generation; a refusal becomes a
 * message that says so.
 */
export async function removeGeneration(generation: Generation): Promise<void> {
  const id = generation.generation_id;
  const verb = isActive(generation.status) ? "cancel" : "delete";
  const token = tokenFor(id);
  if (!token) throw new ApiError(401, "unauthorized", `This browser did not create this generation. ${ONLY_THE_CREATOR}`);
  let record: Generation | undefined;
  try {
    record = await api.remove(id, token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return forgetGeneration(id); // already gone
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      throw new ApiError(error.status, error.errorType, `The service refused to ${verb} this generation: ${error.message}. ${ONLY_THE_CREATOR}`);
    }
    throw error;
  }
  if (record) {
    stop(id);
    useAppStore.getState().upsert(record);
    useAppStore.getState().libraryChanged();
  } else {
    forgetGeneration(id);
  }
}

/** Fetch the file in a format and hand it to the browser as a download. */
export async function downloadGeneration(id: string, format: AudioFormat): Promise<string> {
  const { blob, filename } = await api.download(id, format);
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = filename;
  anchor.rel = "noopener";
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  const existing = useAppStore.getState().generations[id];
  if (existing) useAppStore.getState().patch(id, { download_count: existing.download_count + 1 });
  return filename;
}
