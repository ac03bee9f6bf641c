"use client";

// Any error while drawing the page: say what happened and offer a way back, never a blank page.
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="mx-auto max-w-xl px-4 py-16">
      <div role="alert" className="rounded-2xl border border-rose-200 bg-rose-50 p-6 text-rose-900 dark:border-rose-900 dark:bg-rose-950/60 dark:text-rose-100">
        <h1 className="text-lg font-semibold">Music Genie hit a problem</h1>
        <p className="mt-2 break-words text-sm">{error.message || "An unexpected error occurred while showing this page."}</p>
        <div className="mt-4 flex gap-3">
          <button type="button" onClick={reset} className="rounded-lg bg-rose-600 px-4 py-2 text-sm font-semibold text-white hover:bg-rose-500">
            Try again
          </button>
          <button type="button" onClick={() => window.location.reload()} className="rounded-lg border border-rose-300 px-4 py-2 text-sm font-medium hover:bg-rose-100 dark:border-rose-800 dark:hover:bg-rose-900">
            Reload the page
          </button>
        </div>
      </div>
    </main>
  );
}
