"use client";

import { AnimatePresence, motion } from "motion/react";
import { type KeyboardEvent, useEffect, useRef } from "react";

import { Player } from "@/components/audio/Player";
import { GenerateTab } from "@/components/tabs/GenerateTab";
import { HistoryTab } from "@/components/tabs/HistoryTab";
import { PopularTab } from "@/components/tabs/PopularTab";
import { StatsTab } from "@/components/tabs/StatsTab";
import { ModelBadge, StatusBanner } from "@/components/ui/StatusBanner";
import { ThemeToggle, useTheme } from "@/components/ui/ThemeToggle";
import { useAppStore } from "@/lib/store";
import { useServiceStatus } from "@/lib/useServiceStatus";
import { TABS, type Tab } from "@/types";
import { config } from "@/utils/config";

const LABELS: Record<Tab, string> = { generate: "Generate", history: "History", popular: "Popular", stats: "Stats" };

function TabPanel({ tab }: { tab: Tab }) {
  switch (tab) {
    case "generate":
      return <GenerateTab />;
    case "history":
      return <HistoryTab />;
    case "popular":
      return <PopularTab />;
    case "stats":
      return <StatsTab />;
  }
}

/** The tab in the address (#history), so a reload or a shared link opens the same tab. */
function useTabInHash(tab: Tab, setTab: (tab: Tab) => void): void {
  useEffect(() => {
    const read = () => {
      const hash = window.location.hash.replace("#", "") as Tab;
      if (TABS.includes(hash)) setTab(hash);
    };
    read();
    window.addEventListener("hashchange", read);
    return () => window.removeEventListener("hashchange", read);
  }, [setTab]);
  useEffect(() => {
    const wanted = tab === "generate" ? window.location.pathname + window.location.search : `#${tab}`;
    if (window.location.hash.replace("#", "") !== (tab === "generate" ? "" : tab)) window.history.replaceState(null, "", wanted);
  }, [tab]);
}

export function MusicGenieApp() {
  const tab = useAppStore((s) => s.tab);
  const setTab = useAppStore((s) => s.setTab);
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
  useServiceStatus();
  useTheme();
  useTabInHash(tab, setTab);

  const onTabKey = (event: KeyboardEvent) => {
    // From the focused tab (the selected one, unless something focused another).
    const focused = TABS.find((name) => tabRefs.current[name] === event.target);
    const index = TABS.indexOf(focused ?? tab);
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: TABS.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = TABS[(moves[event.key] + TABS.length) % TABS.length];
    setTab(next);
    tabRefs.current[next]?.focus();
  };

  return (
    <div className="min-h-screen" style={{ paddingBottom: "calc(var(--player-h, 0px) + 2.5rem)" }}>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-3 focus:top-3 focus:z-50 focus:rounded-lg focus:bg-white focus:px-3 focus:py-2 focus:shadow dark:focus:bg-slate-900">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white/80 backdrop-blur dark:border-slate-800 dark:bg-slate-900/80">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-3 px-3 py-3 sm:px-6">
          <div className="flex items-center gap-3">
            <span className="grid size-9 place-items-center rounded-xl bg-gradient-to-br from-violet-600 to-fuchsia-500 text-lg text-white shadow" aria-hidden>
              ♫
            </span>
            <div>
              <h1 className="text-lg font-bold leading-tight">Music Genie</h1>
              <p className="text-xs text-slate-500 dark:text-slate-400">Describe it, hear it.</p>
            </div>
          </div>
          <div className="flex items-center gap-3">
            <ModelBadge />
            {config.environment !== "production" && (
              <span className="rounded bg-slate-200 px-1.5 py-0.5 text-[10px] font-semibold uppercase tracking-wide text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                {config.environment}
              </span>
            )}
            <ThemeToggle />
          </div>
        </div>
        <nav className="mx-auto max-w-6xl px-3 sm:px-6" aria-label="Sections">
          <div role="tablist" aria-label="Sections" className="-mb-px flex gap-1 overflow-x-auto" onKeyDown={onTabKey}>
            {TABS.map((name) => (
              <button
                key={name}
                ref={(el) => {
                  tabRefs.current[name] = el;
                }}
                id={`tab-${name}`}
                role="tab"
                type="button"
                aria-selected={tab === name}
                aria-controls={`panel-${name}`}
                tabIndex={tab === name ? 0 : -1}
                onClick={() => setTab(name)}
                className={`relative whitespace-nowrap px-4 py-2.5 text-sm font-medium transition ${
                  tab === name ? "text-violet-700 dark:text-violet-300" : "text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-slate-100"
                }`}
              >
                {LABELS[name]}
                {tab === name && <motion.span layoutId="tab-underline" className="absolute inset-x-2 bottom-0 h-0.5 rounded-full bg-violet-600 dark:bg-violet-400" />}
              </button>
            ))}
          </div>
        </nav>
      </header>

      <main id="main" className="mx-auto max-w-6xl px-3 py-5 sm:px-6">
        <StatusBanner />
        <AnimatePresence mode="wait" initial={false}>
          <motion.div
            key={tab}
            id={`panel-${tab}`}
            role="tabpanel"
            aria-labelledby={`tab-${tab}`}
            initial={{ opacity: 0, y: 6 }}
            animate={{ opacity: 1, y: 0 }}
            exit={{ opacity: 0, y: -6 }}
            transition={{ duration: 0.15 }}
          >
            <TabPanel tab={tab} />
          </motion.div>
        </AnimatePresence>
      </main>
      <Player />
    </div>
  );
}
