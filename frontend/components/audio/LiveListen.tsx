"use client";
// Listen to a job while it generates: the service's MP3 stream from the track's start, as it is made.
import { useEffect, useRef, useState } from "react";

import { button } from "@/components/ui/styles";
import { api } from "@/lib/api";
import { useAppStore } from "@/lib/store";
import type { Generation } from "@/types";
import { isActive } from "@/types";

/**
 * "Listen while it generates" on a queued or running job. The stream waits for a queued job to start,
 * then plays from the track's beginning however late one joins (before loudness normalisation); once
 * the job has succeeded, the player takes over with the finished, normalised file.
 */
export function LiveListen({ generation }: { generation: Generation }) {
  const id = generation.generation_id;
  const [listening, setListening] = useState(false);
  const handedOver = useRef(false);
  const active = isActive(generation.status);

  useEffect(() => {
    if (listening && generation.status === "succeeded" && !handedOver.current) {
      handedOver.current = true; // the finished file replaces the stream, playing
      setListening(false);
      useAppStore.getState().play(id);
    } else if (listening && !active && generation.status !== "succeeded") {
      setListening(false); // canceled or failed: the stream has ended with it
    }
  }, [listening, active, generation.status, id]);

  if (!active) return null;
  if (!listening) {
    return (
      <button type="button" className={button.secondary} onClick={() => {
          useAppStore.getState().pause(); // one thing plays at a time
          setListening(true);
        }} aria-label={`Listen to ${generation.prompt} while it generates`}>
        <span aria-hidden>🎧</span> Listen while it generates
      </button>
    );
  }
  return (
    <div className="space-y-1" data-testid="live-listen">
      <audio controls autoPlay src={api.streamUrl(id)} className="w-full" data-testid="live-audio" aria-label={`Live: ${generation.prompt}`} />
      <p className="text-xs text-slate-500 dark:text-slate-400">
        {generation.status === "queued" ? "Starts when the job does. " : "Live, from the start, as it is made. "}
        The finished track (loudness-normalised) replaces it when it is done.
      </p>
    </div>
  );
}
