"use client";
// "Variation 2 of 3" on a track that one request made with others (its batch): the batch's order is
// looked up once per batch (GET /recent?batch_id=...) unless this page made it.
import { useEffect } from "react";

import { lookUpBatch } from "@/lib/actions";
import { variationOf, variationPosition } from "@/lib/batch";
import { useAppStore } from "@/lib/store";
import type { Generation } from "@/types";

export function BatchBadge({ generation }: { generation: Pick<Generation, "generation_id" | "batch_id"> }) {
  const batchId = generation.batch_id;
  const members = useAppStore((s) => (batchId ? s.batches[batchId] : undefined));
  useEffect(() => {
    if (batchId && !members) void lookUpBatch(batchId);
  }, [batchId, members]);
  if (!batchId) return null;
  const position = variationPosition(generation.generation_id, members);
  return (
    <span
      data-testid="batch-badge"
      data-batch-id={batchId}
      title="One of the variations one request made (same prompt and settings, its own seed)"
      className="inline-flex items-center rounded-full bg-fuchsia-100 px-2 py-0.5 text-[11px] font-semibold whitespace-nowrap text-fuchsia-800 dark:bg-fuchsia-950 dark:text-fuchsia-200"
    >
      {position ? variationOf(position) : "Variation"}
    </span>
  );
}
