import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__MB_STACK__ ?? []).map((s) => s.stop()));
  const raw = process.env.MB_TEST_STACK;
  if (raw) rmSync((JSON.parse(raw) as { workDir: string }).workDir, { recursive: true, force: true });
}
