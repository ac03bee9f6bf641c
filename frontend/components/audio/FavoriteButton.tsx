"use client";

import { useState } from "react";

import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { button } from "@/components/ui/styles";
import { setFavorite } from "@/lib/actions";
import { useAppStore } from "@/lib/store";

/** A star that sets the favourite flag to what it shows next (the service's explicit form, not a toggle). */
export function FavoriteButton({ id, className = "" }: { id: string; className?: string }) {
  const favorited = useAppStore((s) => s.generations[id]?.is_favorited ?? false);
  const prompt = useAppStore((s) => s.generations[id]?.prompt ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        aria-pressed={favorited}
        aria-label={favorited ? `Remove ${prompt} from favourites` : `Add ${prompt} to favourites`}
        title={favorited ? "Remove from favourites" : "Add to favourites"}
        data-testid="favorite-button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await setFavorite(id, !favorited);
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
        className={`${button.ghost} text-lg ${favorited ? "text-amber-500! dark:text-amber-400!" : ""} ${className}`}
      >
        <span aria-hidden>{favorited ? "★" : "☆"}</span>
      </button>
      {error !== null && (
        <div className="basis-full">
          <ErrorMessage error={error} />
        </div>
      )}
    </>
  );
}
