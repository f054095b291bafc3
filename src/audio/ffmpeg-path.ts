import installer from '@ffmpeg-installer/ffmpeg';

/** The configured ffmpeg, else the static build shipped with the package (no system ffmpeg needed). */
export function resolveFfmpegPath(configured: string): string {
  return configured || installer.path;
}
