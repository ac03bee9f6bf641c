// The length of an audio file the user picked, read by the browser before anything is sent.

const METADATA_TIMEOUT_MS = 10_000;

/**
 * Seconds of audio in `file`: from an <audio> element's metadata (nothing is decoded), else by decoding
 * it with an AudioContext; null when this browser can read neither (the service still checks the file).
 */
export async function readAudioSeconds(file: Blob): Promise<number | null> {
  return (await fromMetadata(file)) ?? (await fromDecoding(file));
}

function fromMetadata(file: Blob): Promise<number | null> {
  if (typeof URL.createObjectURL !== "function") return Promise.resolve(null);
  return new Promise((resolve) => {
    const audio = document.createElement("audio");
    const url = URL.createObjectURL(file);
    const done = (seconds: number | null) => {
      clearTimeout(timer);
      audio.removeAttribute("src");
      URL.revokeObjectURL(url);
      resolve(seconds !== null && Number.isFinite(seconds) && seconds > 0 ? seconds : null);
    };
    const timer = setTimeout(() => done(null), METADATA_TIMEOUT_MS);
    audio.preload = "metadata";
    audio.addEventListener("loadedmetadata", () => done(audio.duration), { once: true });
    audio.addEventListener("error", () => done(null), { once: true });
    audio.src = url;
  });
}

async function fromDecoding(file: Blob): Promise<number | null> {
  const Context = globalThis.AudioContext;
  if (typeof Context !== "function") return null;
  const context = new Context();
  try {
    const bytes = typeof file.arrayBuffer === "function" ? await file.arrayBuffer() : await new Response(file).arrayBuffer();
    const decoded = await context.decodeAudioData(bytes);
    return decoded.duration > 0 ? decoded.duration : null;
  } catch {
    return null;
  } finally {
    void context.close();
  }
}
