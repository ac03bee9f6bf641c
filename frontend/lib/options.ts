// Which devices and precisions the Generate form offers: only what the service reports.
import type { Health, ModelStatus } from "@/types";
import { AUTO } from "@/types";

export interface Placements {
  /** Devices the service offers (besides its default). */
  devices: string[];
  /** Precisions per device, preferred first. */
  precisions: Record<string, string[]>;
  /** A person's name for each device (the GPU's model, the CPU's). */
  names: Record<string, string>;
  defaultDevice: string | null;
  defaultPrecision: string | null;
}

function unique(values: (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => !!v && v !== AUTO))];
}

/**
 * The placements a person may choose. `/model/status` lists the devices this machine can run, each
 * with the precisions a generation may ask for there; a service without that list offers its default
 * and the variants it has loaded.
 */
export function offeredPlacements(status: ModelStatus | null, health: Health | null): Placements {
  const defaultDevice = status?.device ?? (health?.model?.device as string | undefined) ?? null;
  const defaultPrecision = status?.precision ?? (health?.model?.precision as string | undefined) ?? null;
  const listed = status?.devices;
  const precisions: Record<string, string[]> = {};
  const names: Record<string, string> = {};
  if (Array.isArray(listed) && listed.length > 0) {
    for (const option of listed) {
      precisions[option.device] = unique(option.precisions ?? []);
      if (option.name) names[option.device] = option.name;
    }
  } else {
    const variants = [
      ...(defaultDevice ? [{ device: defaultDevice, precision: defaultPrecision ?? "" }] : []),
      ...(status?.loaded_variants ?? []).filter((v) => !status || v.model === status.model),
    ];
    for (const variant of variants) {
      if (!variant.device || variant.device === AUTO) continue;
      precisions[variant.device] = unique([...(precisions[variant.device] ?? []), variant.precision]);
    }
  }
  return {
    devices: Object.keys(precisions),
    precisions,
    names,
    defaultDevice: defaultDevice && defaultDevice !== AUTO ? defaultDevice : null,
    defaultPrecision: defaultPrecision && defaultPrecision !== AUTO ? defaultPrecision : null,
  };
}

/** The precisions on offer for a device; the default device `cuda:0` has those listed for `cuda`. */
export function precisionsFor(placements: Placements, device: string | null | undefined): string[] {
  if (!device) return [];
  return placements.precisions[device] ?? placements.precisions[device.split(":", 1)[0]] ?? [];
}

/** The label of a device in the form: `cuda · NVIDIA H200`. */
export function deviceLabel(placements: Placements, device: string): string {
  const name = placements.names[device];
  return name && name !== device ? `${device} · ${name}` : device;
}
