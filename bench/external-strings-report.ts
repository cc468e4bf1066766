/**
 * Reads one run of bench/baseline/external-strings-probe.ts (its stdout: V8's %DebugPrint lines,
 * --trace-gc-nvp lines and the probe's closing JSON line) and prints what node:http2's external
 * header strings are of the old generation's growth and of each mark-compact's pause.
 *
 *   node dist/bench/external-strings-report.js PROBE_LOG [LABEL]
 */
import { readFileSync } from 'node:fs';

interface HeaderValue {
  readonly name: string;
  readonly young: boolean;
  readonly length: number;
  readonly type: string;
  readonly instanceSize: string;
}

const DESCRIBED_REQUEST = 3;

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The header values of one described request, with V8's type for each. */
function describedValues(lines: readonly string[], request: number): HeaderValue[] {
  const values: HeaderValue[] = [];
  const marker = new RegExp(`probe: request ${request} (\\S+) young=(true|false) length=(\\d+)`);
  for (let i = 0; i < lines.length; i++) {
    const match = marker.exec(lines[i] as string);
    if (!match) continue;
    // The marker's own DebugPrint, then the value's: its first ' - type:' and ' - instance size:'.
    let j = i + 1;
    while (j < lines.length && !(lines[j] as string).startsWith('DebugPrint:')) j++;
    let type = '?';
    let instanceSize = '?';
    for (let k = j + 1; k < lines.length && !(lines[k] as string).startsWith('DebugPrint:'); k++) {
      const line = lines[k] as string;
      if (type === '?' && line.startsWith(' - type: ')) type = line.slice(' - type: '.length);
      if (instanceSize === '?' && line.startsWith(' - instance size: ')) instanceSize = line.slice(' - instance size: '.length);
    }
    values.push({ name: match[1] as string, young: match[2] === 'true', length: Number(match[3]), type, instanceSize });
  }
  return values;
}

function nvp(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of line.trim().split(/\s+/)) {
    const at = pair.indexOf('=');
    if (at > 0) fields[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return fields;
}

/** The phases of a mark-compact's pause that the write-up names, by their --trace-gc-nvp keys. */
const PHASES = ['mark', 'clear.external_string_table', 'evacuate', 'sweep', 'finish'] as const;

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args.splice(at, 2)[1];
};
// For a log of the service's worker (no probe lines): how many requests it served, at which rate,
// and how many external strings each made (from the probe, which the service cannot describe).
const servedRequests = option('--requests');
const requestsPerSecond = option('--rps');
const stringsPerRequest = option('--strings');
const [logFile, label = logFile] = args;
if (!logFile) {
  console.error('usage: external-strings-report PROBE_LOG [LABEL] | SERVICE_LOG LABEL --requests N --rps N --strings N');
  process.exit(2);
}
const lines = readFileSync(logFile, 'utf8').split('\n');
const closing = lines.filter((line) => line.startsWith('{"requests"')).pop();
const probe = closing ? (JSON.parse(closing) as { requests: number; oldSpaceUsed: Array<[number, number]> }) : undefined;
if (!probe && (servedRequests === undefined || requestsPerSecond === undefined || stringsPerRequest === undefined)) {
  throw new Error(`${logFile}: no closing line from the probe; for a service log give --requests, --rps and --strings`);
}
const requests = probe?.requests ?? Number(servedRequests);

const values = describedValues(lines, DESCRIBED_REQUEST);
const external = values.filter((value) => value.type.startsWith('EXTERNAL_'));
const externalPerRequest = probe ? external.length : Number(stringsPerRequest);

let promoted = 0;
const markCompacts: Array<{ at: number; pause: number; phases: Record<string, number> }> = [];
for (const line of lines) {
  if (!line.includes(' gc=')) continue;
  const fields = nvp(line);
  promoted += Number(fields.promoted ?? 0);
  if (fields.gc === 'mc' || fields.gc === 'ms') {
    const at = Number(/(\d+) ms: pause=/.exec(line)?.[1]);
    markCompacts.push({ at, pause: Number(fields.pause), phases: Object.fromEntries(PHASES.map((phase) => [phase, Number(fields[phase])])) });
  }
}

// Mark-compacts after the first (start-up's) only.
const steady = markCompacts.slice(1);
let requestsPerMarkCompact: number;
const report: Record<string, number> = {};
if (probe) {
  report.externalStringsPerRequest = external.length;
  report.allocatedInOldGeneration = external.filter((value) => !value.young).length;
  report.externalStringBytesPerRequest = external.reduce((sum, value) => sum + Number(value.instanceSize), 0);
  // Between two samples with no mark-compact between them the old generation only grows: those
  // pairs give its growth per request; a fall marks a mark-compact. The first interval (start-up,
  // warm-up) is left out.
  let grownBytes = 0;
  let grownRequests = 0;
  const intervals: number[] = [];
  let lastFallAt: number | undefined;
  for (let i = 1; i < probe.oldSpaceUsed.length; i++) {
    const [requestsBefore, usedBefore] = probe.oldSpaceUsed[i - 1] as [number, number];
    const [requestsAfter, usedAfter] = probe.oldSpaceUsed[i] as [number, number];
    if (usedAfter < usedBefore) {
      if (lastFallAt !== undefined) intervals.push(requestsAfter - lastFallAt);
      lastFallAt = requestsAfter;
    } else if (lastFallAt !== undefined) {
      grownBytes += usedAfter - usedBefore;
      grownRequests += requestsAfter - requestsBefore;
    }
  }
  const growth = grownRequests ? grownBytes / grownRequests : Number.NaN;
  report.oldGenerationGrowthBytesPerRequest = Math.round(growth);
  report.promotedBytesPerRequest = Math.round(promoted / requests);
  report.growthNotPromotedBytesPerRequest = Math.round(growth - promoted / requests);
  requestsPerMarkCompact = median(intervals);
} else {
  report.promotedBytesPerRequest = Math.round(promoted / requests);
  // At a fixed rate: the time between mark-compacts says how many requests came between them.
  const gaps = steady.slice(1).map((mc, i) => mc.at - (steady[i] as { at: number }).at);
  requestsPerMarkCompact = Math.round((median(gaps) / 1000) * Number(requestsPerSecond));
}
const pauseMs = median(steady.map((mc) => mc.pause));
const clearMs = median(steady.map((mc) => mc.phases['clear.external_string_table'] as number));
Object.assign(report, {
  markCompacts: markCompacts.length,
  requestsPerMarkCompact,
  markCompactPauseMs: pauseMs,
  ...Object.fromEntries(PHASES.map((phase) => [`${phase}Ms`, median(steady.map((mc) => mc.phases[phase] as number))])),
  clearExternalStringTableShareOfPause: Number((clearMs / pauseMs).toFixed(2)),
  clearNsPerExternalString: Math.round((clearMs * 1e6) / (requestsPerMarkCompact * externalPerRequest)),
});

console.log(`\n## ${label}: ${requests} requests`);
if (probe) {
  console.log(`header values of request ${DESCRIBED_REQUEST} (name: V8 type, instance size, young generation at creation):`);
  for (const value of values) console.log(`  ${value.name} (${value.length} chars): ${value.type}, ${value.instanceSize}, young=${value.young}`);
}
console.log(JSON.stringify(report));
