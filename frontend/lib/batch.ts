// Variations: one POST /generate with `variations` > 1 makes that many records of the same request, each
// with its own seed, generated together and linked by `batch_id`. The answer is the first record plus
// `batch` (all of them, this one first) and one token for all. These helpers turn that answer, or a
// batch's records from GET /recent?batch_id=..., into the order the page labels "Variation 1..N".
import type { CreatedGeneration, Generation, GenerationStatus } from "@/types";
import { isActive } from "@/types";

/** Every record an answer of POST /generate made, in variation order (a list of one for a single track). */
export function batchRecords(created: CreatedGeneration): Generation[] {
  const records: Generation[] = Array.isArray(created.batch) && created.batch.length > 0 ? created.batch : [created];
  // The page keeps records, never the token (nor the batch inside the first one).
  return records.map((record) => {
    const copy: Generation & { token?: unknown; batch?: unknown } = { ...record };
    delete copy.token;
    delete copy.batch;
    return copy;
  });
}

/** The batch a set of records forms, when it is one (more than one record sharing a batch id). */
export function batchIdOf(records: Pick<Generation, "batch_id">[]): string | null {
  if (records.length < 2) return null;
  const id = records[0].batch_id;
  return id && records.every((record) => record.batch_id === id) ? id : null;
}

/** A batch's ids in variation order: the order the service made them (ascending row id). */
export function variationOrder(items: Pick<Generation, "generation_id" | "id">[]): string[] {
  return [...items].sort((a, b) => a.id - b.id).map((item) => item.generation_id);
}

export interface VariationPosition {
  /** 1-based. */
  index: number;
  count: number;
}

/** Where a generation sits in its batch ("variation 2 of 3"); null when it is in none, or not (yet) known. */
export function variationPosition(id: string, members: readonly string[] | undefined): VariationPosition | null {
  if (!members || members.length < 2) return null;
  const at = members.indexOf(id);
  return at < 0 ? null : { index: at + 1, count: members.length };
}

export const variationLabel = (index: number): string => `Variation ${index}`;

/** "Variation 2 of 3". */
export const variationOf = ({ index, count }: VariationPosition): string => `${variationLabel(index)} of ${count}`;

/** What a batch's heading says: how many are done, still going, or ended without audio. */
export function batchSummary(statuses: GenerationStatus[]): string {
  const count = statuses.length;
  const done = statuses.filter((status) => status === "succeeded").length;
  const going = statuses.filter((status) => isActive(status)).length;
  const ended = count - done - going;
  const parts = [`${done} of ${count} ready`];
  if (going) parts.push(`${going} generating`);
  if (ended) parts.push(`${ended} without audio`);
  return parts.join(" · ");
}
