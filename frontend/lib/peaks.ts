// The waveform's peaks, computed in the browser from the decoded audio, so that the player can stream
// the audio itself through HTTP Range (a media element with a URL) instead of playing a downloaded blob.

/** The largest magnitude in each of `buckets` equal slices of `samples` (what wavesurfer.js draws). */
export function computePeaks(samples: Float32Array | number[], buckets = 1000): number[] {
  const count = Math.max(1, Math.min(buckets, samples.length));
  const size = samples.length / count;
  const peaks = new Array<number>(count).fill(0);
  for (let bucket = 0; bucket < count; bucket++) {
    const start = Math.floor(bucket * size);
    const end = Math.max(start + 1, Math.floor((bucket + 1) * size));
    let max = 0;
    for (let i = start; i < end && i < samples.length; i++) {
      const value = Math.abs(samples[i]);
      if (value > max) max = value;
    }
    peaks[bucket] = Math.round(max * 10000) / 10000;
  }
  return peaks;
}

/** Fetch and decode the audio at `url`; its peaks and duration. */
export async function loadPeaks(url: string, signal: AbortSignal, buckets = 1000): Promise<{ peaks: number[]; duration: number }> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`the audio answered ${response.status}`);
  const data = await response.arrayBuffer();
  const Context = window.OfflineAudioContext ?? (window as unknown as { webkitOfflineAudioContext: typeof OfflineAudioContext }).webkitOfflineAudioContext;
  const context = new Context(1, 1, 8000);
  const decoded = await context.decodeAudioData(data);
  return { peaks: computePeaks(decoded.getChannelData(0), buckets), duration: decoded.duration };
}
