// The tokens of the generations this browser created. POST /generate answers each once; cancelling or
// deleting the generation needs it back (X-Generation-Token). Kept in localStorage by generation id, so
// they survive reloads and are shared by the browser's tabs; forgotten when the generation is deleted.
import { create } from "zustand";
import { createJSONStorage, persist } from "zustand/middleware";

export const TOKENS_KEY = "music-genie-tokens";

interface TokenState {
  tokens: Record<string, string>;
  remember: (id: string, token: string) => void;
  /** One token for several generations (the variations of one request). */
  rememberAll: (ids: string[], token: string) => void;
  forget: (id: string) => void;
}

export const useTokens = create<TokenState>()(
  persist(
    (set) => ({
      tokens: {},
      remember: (id, token) => set((state) => ({ tokens: { ...state.tokens, [id]: token } })),
      rememberAll: (ids, token) => set((state) => ({ tokens: { ...state.tokens, ...Object.fromEntries(ids.map((id) => [id, token])) } })),
      forget: (id) =>
        set((state) => {
          if (!(id in state.tokens)) return {};
          const tokens = { ...state.tokens };
          delete tokens[id];
          return { tokens };
        }),
    }),
    {
      name: TOKENS_KEY,
      version: 1,
      storage: createJSONStorage(() => localStorage),
      partialize: (state) => ({ tokens: state.tokens }),
    },
  ),
);

/** The token of a generation this browser created (undefined for anyone else's). */
export const tokenFor = (id: string): string | undefined => useTokens.getState().tokens[id];

/** Whether this browser may cancel or delete a generation (it holds its token). */
export const useCanChange = (id: string): boolean => useTokens((state) => id in state.tokens);

export const rememberToken = (id: string, token: string): void => useTokens.getState().remember(id, token);
export const rememberTokens = (ids: string[], token: string): void => useTokens.getState().rememberAll(ids, token);
export const forgetToken = (id: string): void => useTokens.getState().forget(id);

// Another tab of this browser created or deleted a generation: take its tokens too.
if (typeof window !== "undefined") {
  window.addEventListener("storage", (event) => {
    if (event.key === TOKENS_KEY) void useTokens.persist.rehydrate();
  });
}
