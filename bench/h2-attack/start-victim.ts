import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { VictimReport } from './victim.js';

const VICTIM_PROCESS = fileURLToPath(new URL('./victim-process.js', import.meta.url));

/** Starts a victim caller in its own process for `ms`; `ready` once it answered a first call. */
export function startVictim(port: number, rate: number, ms: number, host = '127.0.0.1'): { ready: Promise<void>; report: Promise<VictimReport> } {
  const child = spawn(process.execPath, [VICTIM_PROCESS, String(port), String(rate), String(ms), host], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    if (output.startsWith('ready\n')) onReady();
  });
  const report = new Promise<VictimReport>((resolve, reject) =>
    child.on('exit', (code) => {
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line) resolve(JSON.parse(line) as VictimReport);
      else reject(new Error(`the victim exited with ${code}: ${output}`));
    }),
  );
  return { ready, report };
}
