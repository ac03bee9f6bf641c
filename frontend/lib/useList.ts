"use client";
// Loads a list of generations into the store and reloads it when the library changes.
import { useCallback, useEffect, useRef, useState } from "react";

import { useAppStore } from "@/lib/store";
import { trackActive } from "@/lib/tracker";
import type { GenerationList } from "@/types";

export interface ListState {
  ids: string[];
  loading: boolean;
  error: unknown;
  /** How many the last answer held (compare with the limit asked for to know whether there are more). */
  count: number;
  reload: () => void;
}

export function useGenerationList(load: (() => Promise<GenerationList>) | null, key: string): ListState {
  const version = useAppStore((s) => s.libraryVersion);
  const [ids, setIds] = useState<string[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [count, setCount] = useState(0);
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const current = loadRef.current;
    if (!current) {
      setIds([]);
      setCount(0);
      return;
    }
    let canceled = false;
    setLoading(true);
    current()
      .then((list) => {
        if (canceled) return;
        useAppStore.getState().upsert(list.items);
        trackActive(list.items);
        setIds(list.items.map((item) => item.generation_id));
        setCount(list.count);
        setError(null);
      })
      .catch((e) => {
        if (!canceled) setError(e);
      })
      .finally(() => {
        if (!canceled) setLoading(false);
      });
    return () => {
      canceled = true;
    };
  }, [key, version, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ids, loading, error, count, reload };
}
