// Counts a play only after real listening: at least MIN_SECONDS, or half of a shorter track, actually
// played. Seeking does not count as listening: only small forward steps of the playhead while playing do.

export const MIN_SECONDS = 5;
export const MIN_FRACTION = 0.5;
/** The largest step between two time updates still taken as continuous playback. */
export const MAX_STEP_S = 1.5;

export class PlayCounter {
  private listened = 0;
  private last: number | null = null;
  private counted = false;

  constructor(
    private readonly duration: number,
    private readonly onCount: (listenedSeconds: number) => void,
  ) {}

  /** Seconds needed for this track to count as played. */
  get threshold(): number {
    const half = this.duration > 0 ? this.duration * MIN_FRACTION : MIN_SECONDS;
    return Math.min(MIN_SECONDS, half);
  }

  get listenedSeconds(): number {
    return this.listened;
  }

  get hasCounted(): boolean {
    return this.counted;
  }

  /** Feed the playhead position on every time update; `playing` is false while paused or seeking. */
  update(currentTime: number, playing: boolean): void {
    if (!playing || this.last === null) {
      this.last = currentTime;
      return;
    }
    const step = currentTime - this.last;
    this.last = currentTime;
    if (step > 0 && step <= MAX_STEP_S) this.listened += step;
    if (!this.counted && this.listened >= this.threshold) {
      this.counted = true;
      this.onCount(this.listened);
    }
  }

  /** A seek: the next update starts a new stretch of listening. */
  seeked(currentTime: number): void {
    this.last = currentTime;
  }
}
