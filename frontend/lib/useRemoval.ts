"use client";
// Cancel (an active job) or delete (a finished one), for the cards: only where this browser holds the
// generation's token, after a confirmation; what went wrong is kept for the card to show.
import { useState } from "react";

import { removeGeneration } from "@/lib/actions";
import { useCanChange } from "@/lib/tokens";
import type { Generation } from "@/types";
import { isActive } from "@/types";

export interface Removal {
  /** This browser created the generation (it holds its token): offer the action. */
  allowed: boolean;
  /** "Cancel" for an active job, "Delete" for a finished one. */
  verb: "Cancel" | "Delete";
  busy: boolean;
  error: unknown;
  run: () => Promise<void>;
}

export function useRemoval(generation: Generation): Removal {
  const allowed = useCanChange(generation.generation_id);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const verb = isActive(generation.status) ? "Cancel" : "Delete";

  const run = async () => {
    const question = verb === "Cancel" ? `Cancel the generation of “${generation.prompt}”?` : `Delete “${generation.prompt}” and its audio for good?`;
    if (!window.confirm(question)) return;
    setBusy(true);
    setError(null);
    try {
      await removeGeneration(generation);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { allowed, verb, busy, error, run };
}
