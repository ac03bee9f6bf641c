"use client";
// The play button of a track in a list, and the mark of the track the player holds.
import { button } from "@/components/ui/styles";
import { useAppStore } from "@/lib/store";

/** Whether this track is the player's, and whether it is playing now. */
export function usePlayerState(id: string): { current: boolean; playing: boolean } {
  const current = useAppStore((s) => s.currentId === id);
  const playing = useAppStore((s) => s.currentId === id && s.playing);
  return { current, playing };
}

const ROUND = "grid size-10 shrink-0 place-items-center rounded-full bg-violet-600 text-white shadow hover:bg-violet-500";

/** Play the track (or pause it, when it is the one playing): a round icon, or a button with words. */
export function PlayToggle({ id, prompt, withText = false }: { id: string; prompt: string; withText?: boolean }) {
  const { playing } = usePlayerState(id);
  const verb = playing ? "Pause" : "Play";
  return (
    <button
      type="button"
      onClick={() => (playing ? useAppStore.getState().pause() : useAppStore.getState().play(id))}
      className={withText ? button.secondary : ROUND}
      aria-label={`${verb} ${prompt}`}
      data-testid="play-toggle"
    >
      <span aria-hidden>{playing ? "❚❚" : "▶"}</span>
      {withText && <span aria-hidden>{verb}</span>}
    </button>
  );
}

/** "Now playing" (with moving bars) or "In the player" on the player's track; nothing on the others. */
export function NowPlaying({ id }: { id: string }) {
  const { current, playing } = usePlayerState(id);
  if (!current) return null;
  return (
    <span
      data-testid="now-playing"
      data-playing={playing}
      className="inline-flex items-center gap-1.5 rounded-full bg-violet-100 px-2 py-0.5 text-xs font-semibold text-violet-800 dark:bg-violet-950 dark:text-violet-200"
    >
      <span className="flex h-3 items-end gap-px" aria-hidden>
        {[0, 1, 2].map((bar) => (
          <span
            key={bar}
            className={`w-0.5 rounded-sm bg-current ${playing ? "animate-pulse" : ""}`}
            style={{ height: `${[60, 100, 40][bar]}%`, animationDelay: `${bar * 150}ms` }}
          />
        ))}
      </span>
      {playing ? "Now playing" : "In the player"}
    </span>
  );
}
