// Actions on one generation that several places offer (player, History, Popular).
import { api } from "@/lib/api";
import { useAppStore } from "@/lib/store";
import { stop } from "@/lib/tracker";
import type { AudioFormat, Generation } from "@/types";
import { ACTIVE_STATUSES } from "@/types";

export async function toggleFavorite(id: string): Promise<boolean> {
  const answer = await api.toggleFavorite(id);
  useAppStore.getState().patch(id, { is_favorited: answer.is_favorited });
  return answer.is_favorited;
}

/** Cancel an active job (it stays, as canceled) or delete a finished one (it goes, with its file). */
export async function removeGeneration(generation: Generation): Promise<void> {
  const id = generation.generation_id;
  const record = await api.remove(id);
  stop(id);
  const store = useAppStore.getState();
  if (record && ACTIVE_STATUSES.includes(generation.status)) {
    store.upsert(record);
    store.libraryChanged();
  } else {
    store.forget(id);
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
