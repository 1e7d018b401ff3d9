/**
 * The import's progress on stderr: on a terminal, one line redrawn in place (at most ten
 * times a second); otherwise (a log, CI), a plain line every PLAIN_INTERVAL_MS, so a log
 * is not flooded. Progress is by bytes, the one total known before the files are read.
 */
import type { ImportProgress } from './import-files.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const TTY_INTERVAL_MS = 100;
const PLAIN_INTERVAL_MS = 5000;
const BAR_WIDTH = 24;

export class ProgressReporter {
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly totalFiles: number,
    private readonly totalBytes: number,
    private readonly now: () => number = () => performance.now(),
    private readonly startedAt = now(),
  ) {}

  update(progress: ImportProgress): void {
    const now = this.now();
    if (now - this.last < (this.stream.isTTY ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS)) {
      return;
    }
    this.last = now;
    this.draw(progress);
  }

  /** The final state, and the end of the in-place line. */
  finish(progress: ImportProgress): void {
    this.draw(progress);
    if (this.stream.isTTY && this.drawn) {
      this.stream.write('\n');
    }
  }

  private draw(progress: ImportProgress): void {
    const line = formatProgress(progress, this.totalFiles, this.totalBytes, (this.now() - this.startedAt) / 1000);
    // \r back to the line's start, \x1b[K erases what a longer previous line left.
    this.stream.write(this.stream.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
    this.drawn = true;
  }
}

export function formatProgress(progress: ImportProgress, totalFiles: number, totalBytes: number, seconds: number): string {
  const fraction = totalBytes > 0 ? Math.min(1, progress.bytesDone / totalBytes) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const rate = seconds > 0 ? Math.round(progress.resources / seconds) : 0;
  const errors = progress.errors === 1 ? '1 error' : `${progress.errors} errors`;
  return `${bar} ${Math.floor(fraction * 100)}%  ${progress.filesDone}/${totalFiles} files  ${progress.resources} resources  ${rate}/s  ${errors}`;
}
