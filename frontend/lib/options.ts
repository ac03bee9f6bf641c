// Which devices and precisions the Generate form offers: only what the service reports.
import type { Health, ModelStatus } from "@/types";

export interface Placements {
  /** Devices the service offers (besides its default). */
  devices: string[];
  /** Precisions per device. */
  precisions: Record<string, string[]>;
  defaultDevice: string | null;
  defaultPrecision: string | null;
}

interface DeviceOption {
  device: string;
  precisions?: string[];
}

function unique(values: (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => !!v && v !== "auto"))];
}

/**
 * The placements a person may choose. The service lists the variants it has loaded and its default;
 * a service that also lists `devices` (each with its `precisions`) offers those.
 */
export function offeredPlacements(status: ModelStatus | null, health: Health | null): Placements {
  const defaultDevice = status?.device ?? (health?.model?.device as string | undefined) ?? null;
  const defaultPrecision = status?.precision ?? (health?.model?.precision as string | undefined) ?? null;
  const listed = (status as (ModelStatus & { devices?: DeviceOption[] }) | null)?.devices;
  const precisions: Record<string, string[]> = {};
  if (Array.isArray(listed) && listed.length > 0) {
    for (const option of listed) precisions[option.device] = unique(option.precisions ?? []);
  } else {
    const variants = [
      ...(defaultDevice ? [{ device: defaultDevice, precision: defaultPrecision ?? "" }] : []),
      ...(status?.loaded_variants ?? []).filter((v) => !status || v.model === status.model),
    ];
    for (const variant of variants) {
      if (!variant.device || variant.device === "auto") continue;
      precisions[variant.device] = unique([...(precisions[variant.device] ?? []), variant.precision]);
    }
  }
  return {
    devices: Object.keys(precisions),
    precisions,
    defaultDevice: defaultDevice && defaultDevice !== "auto" ? defaultDevice : null,
    defaultPrecision: defaultPrecision && defaultPrecision !== "auto" ? defaultPrecision : null,
  };
}
