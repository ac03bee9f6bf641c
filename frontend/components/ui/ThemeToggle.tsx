"use client";

import { useEffect } from "react";

import { type Theme, useAppStore } from "@/lib/store";

const NEXT: Record<Theme, Theme> = { system: "light", light: "dark", dark: "system" };
const LABEL: Record<Theme, string> = { system: "System theme", light: "Light theme", dark: "Dark theme" };
const ICON: Record<Theme, string> = { system: "◐", light: "☀", dark: "☾" };

/** Applies the chosen theme to <html> (following the system's when "system"). */
export function useTheme(): void {
  const theme = useAppStore((s) => s.theme);
  useEffect(() => {
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    const apply = () => {
      const dark = theme === "dark" || (theme === "system" && media.matches);
      document.documentElement.classList.toggle("dark", dark);
    };
    apply();
    media.addEventListener("change", apply);
    return () => media.removeEventListener("change", apply);
  }, [theme]);
}

export function ThemeToggle() {
  const theme = useAppStore((s) => s.theme);
  const setTheme = useAppStore((s) => s.setTheme);
  return (
    <button
      type="button"
      onClick={() => setTheme(NEXT[theme])}
      className="grid size-9 place-items-center rounded-lg border border-slate-300 text-base text-slate-700 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800"
      aria-label={`${LABEL[theme]}: switch to ${LABEL[NEXT[theme]].toLowerCase()}`}
      title={`${LABEL[theme]} (click for ${LABEL[NEXT[theme]].toLowerCase()})`}
      data-testid="theme-toggle"
      data-theme={theme}
    >
      <span aria-hidden>{ICON[theme]}</span>
    </button>
  );
}
