"use client";
// Loads a list of generations into the store and reloads it when the library changes.
import { useCallback, useEffect, useRef, useState } from "react";

import { useAppStore } from "@/lib/store";
import { trackActive } from "@/lib/tracker";
import { API_PARAMETERS } from "@/types/api.constants";
import type { Generation, GenerationList } from "@/types";

/** The ids of known generations, once each, newest first (by creation time, then by id). */
export function newestFirst(ids: string[], generations: Record<string, Generation>): string[] {
  const known = [...new Set(ids)].filter((id) => generations[id]);
  return known.sort((a, b) => {
    const left = generations[a];
    const right = generations[b];
    return Date.parse(right.created_at) - Date.parse(left.created_at) || right.id - left.id;
  });
}

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

/** The service answers at most this many per request. */
export const SERVICE_MAX = API_PARAMETERS["GET /recent"].limit.maximum;

export interface PagedListState {
  ids: string[];
  loading: boolean;
  error: unknown;
  /** How many match in all (the service's `total`). */
  total: number;
  hasMore: boolean;
  /** Nothing in flight and the ids are those of the current key (not the previous query's). */
  settled: boolean;
  /** Fetch the next page (from the offset after what is shown) and append it. */
  loadMore: () => void;
  reload: () => void;
}

type PageLoader = (offset: number, limit: number) => Promise<GenerationList>;

/**
 * A list the service pages through with `offset`: the first page when `key` changes, the next on
 * `loadMore`, and, when the library changes, everything shown so far again (in pages of at most SERVICE_MAX).
 */
export function usePagedGenerations(load: PageLoader | null, key: string, pageSize: number): PagedListState {
  const version = useAppStore((s) => s.libraryVersion);
  const [ids, setIds] = useState<string[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [nonce, setNonce] = useState(0);
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const shown = useRef(0);
  const request = useRef(0);
  const lastKey = useRef<string | null>(null);

  const fetchRange = useCallback(async (offset: number, count: number): Promise<GenerationList[]> => {
    const current = loadRef.current;
    if (!current) return [];
    const pages: GenerationList[] = [];
    let at = offset;
    const end = offset + count;
    while (at < end) {
      const page = await current(at, Math.min(SERVICE_MAX, end - at));
      pages.push(page);
      at += page.count;
      if (page.count === 0 || at >= page.total) break;
    }
    return pages;
  }, []);

  const absorb = (pages: GenerationList[]): string[] => {
    const items = pages.flatMap((page) => page.items);
    useAppStore.getState().upsert(items);
    trackActive(items);
    if (pages.length) setTotal(pages[pages.length - 1].total);
    return items.map((item) => item.generation_id);
  };

  // First page on a new key; everything shown again when the library changed or on reload.
  useEffect(() => {
    const fresh = lastKey.current !== key;
    lastKey.current = key;
    if (!loadRef.current) {
      shown.current = 0;
      setIds([]);
      setTotal(0);
      setLoadedKey(key);
      return;
    }
    const ticket = ++request.current;
    const count = fresh ? pageSize : Math.max(pageSize, shown.current);
    setLoading(true);
    fetchRange(0, count)
      .then((pages) => {
        if (ticket !== request.current) return;
        const next = [...new Set(absorb(pages))];
        shown.current = next.length;
        setIds(next);
        setLoadedKey(key);
        setError(null);
      })
      .catch((e) => {
        if (ticket === request.current) setError(e);
      })
      .finally(() => {
        if (ticket === request.current) setLoading(false);
      });
  }, [key, version, nonce, pageSize, fetchRange]);

  const loadMore = useCallback(() => {
    const ticket = ++request.current;
    const offset = shown.current;
    setLoading(true);
    fetchRange(offset, pageSize)
      .then((pages) => {
        if (ticket !== request.current) return;
        const added = absorb(pages);
        // A track added meanwhile shifts the pages: skip what is already shown.
        setIds((previous) => {
          const next = [...new Set([...previous, ...added])];
          shown.current = next.length;
          return next;
        });
        setError(null);
      })
      .catch((e) => {
        if (ticket === request.current) setError(e);
      })
      .finally(() => {
        if (ticket === request.current) setLoading(false);
      });
  }, [fetchRange, pageSize]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const settled = !loading && loadedKey === key;
  return { ids, loading, error, total, hasMore: ids.length < total, settled, loadMore, reload };
}
