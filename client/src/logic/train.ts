// The Train command's logic: which data files and columns to offer first, what to send, what came back.
import * as zlib from 'node:zlib';
import { parseDocument } from 'yaml';

/** Splits one CSV record (RFC 4180 quoting) into fields. */
export function splitCsvRecord(line: string, delimiter = ','): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (ch === delimiter) {
      fields.push(field.trim());
      field = '';
    } else {
      field += ch;
    }
  }
  fields.push(field.trim());
  return fields;
}

/**
 * The column names of a CSV file from its first bytes: the first record (which may span lines
 * inside quotes), without a BOM. Empty for an empty file.
 */
export function parseCsvHeader(text: string): string[] {
  let body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // the first record ends at the first newline outside quotes
  let inQuotes = false;
  let end = body.length;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '"') {
      inQuotes = !inQuotes;
    } else if ((ch === '\n' || ch === '\r') && !inQuotes) {
      end = i;
      break;
    }
  }
  body = body.slice(0, end);
  if (body.trim() === '') {
    return [];
  }
  const delimiter = guessDelimiter(body);
  return splitCsvRecord(body, delimiter);
}

function guessDelimiter(header: string): string {
  const counts = [',', ';', '\t', '|'].map((d) => [d, header.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  const best = counts[0];
  return best !== undefined && best[1] > 0 ? best[0] : ',';
}

/**
 * The data tables the server's trainer reads, by format: the server's one list, sent at
 * initialize (`capabilities.experimental.arcgraph.dataFiles`); the client keeps no copy.
 */
export interface DataFormats {
  readonly csv: readonly string[]; // suffixes such as '.csv', '.csv.gz', '.tsv'
  readonly parquet: readonly string[];
}

/** The formats from the initialize result's `experimental` (none when a server sent none). */
export function dataFormatsOf(experimental: unknown): DataFormats {
  const suffixes = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string' && s.startsWith('.')) : [];
  const arcgraph = (experimental as { arcgraph?: { dataFiles?: { csv?: unknown; parquet?: unknown } } } | null)?.arcgraph;
  const files = arcgraph?.dataFiles;
  return { csv: suffixes(files?.csv), parquet: suffixes(files?.parquet) };
}

function allSuffixes(formats: DataFormats): string[] {
  return [...formats.csv, ...formats.parquet];
}

/** The glob of the workspace search for data tables (any folder, any of the suffixes); undefined for none. */
export function dataGlob(formats: DataFormats): string | undefined {
  const names = allSuffixes(formats).map((s) => s.slice(1));
  if (names.length === 0) {
    return undefined;
  }
  return names.length === 1 ? `**/*.${names[0]}` : `**/*.{${names.join(',')}}`;
}

/** The open dialog's filter: file extensions without the dot, the last one of `.csv.gz`. */
export function dialogExtensions(formats: DataFormats): string[] {
  return [...new Set(allSuffixes(formats).map((s) => s.slice(s.lastIndexOf('.') + 1)))];
}

export function isParquet(path: string, formats: DataFormats): boolean {
  const lower = path.toLowerCase();
  return formats.parquet.some((s) => lower.endsWith(s));
}

/** The text of a CSV file's first bytes; a gzipped one (`.csv.gz`) is inflated as far as it goes. */
export function csvHeadText(bytes: Uint8Array, path: string): string {
  const data = path.toLowerCase().endsWith('.gz')
    ? zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    : bytes;
  return Buffer.from(data).toString('utf8');
}

function words(name: string): Set<string> {
  const base = name.replace(/^.*[\\/]/, '').replace(/\.(trainer|model)?\.?ya?ml$/i, '').replace(/\.[^.]+$/, '');
  return new Set(base.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 1 && !/^v\d+$/.test(w)));
}

/** How many name words two paths share (`breast-cancer.trainer.yaml` ~ `breast_cancer.csv`: 2). */
export function nameAffinity(a: string, b: string): number {
  const wa = words(a);
  let n = 0;
  for (const w of words(b)) {
    if (wa.has(w)) {
      n++;
    }
  }
  return n;
}

/**
 * Orders the data files offered for a trainer: the one remembered for this trainer first, then
 * by how many name words they share with the trainer or its model, then by path.
 */
export function orderDataFiles(
  files: readonly string[],
  trainerPath: string,
  remembered?: string,
  modelId?: string,
): string[] {
  const score = (f: string): number =>
    Math.max(nameAffinity(trainerPath, f), modelId ? nameAffinity(modelId, f) : 0);
  const scored = files.map((f) => ({ f, s: f === remembered ? Number.MAX_SAFE_INTEGER : score(f) }));
  scored.sort((a, b) => b.s - a.s || a.f.localeCompare(b.f));
  return scored.map((x) => x.f);
}

/** What the Train command needs to know of the model spec. */
export interface ModelInfo {
  readonly lossTarget?: string;
  readonly inputColumns: readonly string[];
}

/** `model_ref` of a trainer spec, if it has a plain string one. */
export function trainerModelRef(trainerText: string): string | undefined {
  const doc = parseDocument(trainerText, { prettyErrors: false });
  const ref = doc.get('model_ref');
  return typeof ref === 'string' && ref.trim() !== '' ? ref.trim() : undefined;
}

/** The loss target column and the input columns of a model spec (whatever parses). */
export function modelInfo(modelText: string): ModelInfo {
  const doc = parseDocument(modelText, { prettyErrors: false });
  const js = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const info: { lossTarget?: string; inputColumns: string[] } = { inputColumns: [] };
  if (typeof js !== 'object' || js === null) {
    return info;
  }
  const root = js as Record<string, unknown>;
  const loss = root.loss as Record<string, unknown> | undefined;
  const lossInputs = loss && typeof loss === 'object' ? (loss.inputs as Record<string, unknown> | undefined) : undefined;
  if (lossInputs && typeof lossInputs === 'object' && typeof lossInputs.target === 'string') {
    info.lossTarget = lossInputs.target;
  }
  const inputs = root.inputs;
  if (inputs && typeof inputs === 'object') {
    for (const spec of Object.values(inputs as Record<string, unknown>)) {
      const cols = spec && typeof spec === 'object' ? (spec as Record<string, unknown>).columns : undefined;
      if (Array.isArray(cols)) {
        info.inputColumns.push(...cols.filter((c): c is string => typeof c === 'string'));
      }
    }
  }
  return info;
}

/**
 * Orders the target columns: the remembered one, then the model's loss target, then the
 * columns that are not model inputs (likely labels), then the model's input columns; each group
 * in file order. Columns of the file only.
 */
export function orderTargetColumns(
  columns: readonly string[],
  info: ModelInfo,
  remembered?: string,
): string[] {
  const inputs = new Set(info.inputColumns);
  const rank = (c: string): number => {
    if (c === remembered) {
      return 0;
    }
    if (c === info.lossTarget) {
      return 1;
    }
    return inputs.has(c) ? 3 : 2;
  };
  return columns
    .map((c, i) => ({ c, i, r: rank(c) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.c);
}

/** The single argument of `workspace/executeCommand` `arcgraph.train`. */
export interface TrainArguments {
  readonly trainer: string;
  readonly data: string;
  readonly target: string;
  /** `--set KEY=VALUE` texts for this run only (e.g. `config.device=cpu`). */
  readonly overrides?: readonly string[];
  /** Training processes on this machine (`--nproc-per-node`, torchrun); absent: one. */
  readonly processes?: number;
}

export const TRAIN_COMMAND = 'arcgraph.train';

export function trainArguments(
  trainerUri: string,
  dataPath: string,
  target: string,
  overrides: readonly string[] = [],
  processes = 1,
): TrainArguments {
  if (!trainerUri) {
    throw new Error('no trainer spec');
  }
  if (!dataPath.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(dataPath)) {
    throw new Error(`the data path must be absolute: ${dataPath}`);
  }
  if (!target) {
    throw new Error('no target column');
  }
  if (!Number.isInteger(processes) || processes < 1) {
    throw new Error(`the process count must be a whole number >= 1: ${processes}`);
  }
  return {
    trainer: trainerUri,
    data: dataPath,
    target,
    ...(overrides.length ? { overrides: [...overrides] } : {}),
    ...(processes > 1 ? { processes } : {}),
  };
}

/** The process count typed in the Train flow: a whole number >= 1, else undefined. */
export function parseProcessCount(text: string): number | undefined {
  const t = text.trim();
  return /^[1-9][0-9]*$/.test(t) ? Number(t) : undefined;
}

/** The input box's complaint about a process count, or undefined when it is one. */
export function processCountError(text: string): string | undefined {
  return parseProcessCount(text) === undefined ? 'a whole number of processes, 1 or more (1: no distribution)' : undefined;
}

/** The override that runs a spec on the CPU instead of its device. */
export const CPU_OVERRIDE = 'config.device=cpu';

/**
 * The device a refusal says is missing (the trainer's words: "config.device is 'cuda' but no
 * CUDA device is available to torch", "... 'mps' but the MPS backend is not available ..."),
 * so the Train flow can offer the CPU; undefined for any other refusal.
 */
export function unavailableDevice(refusal: string): string | undefined {
  const m = /config\.device is '(cuda|mps)' but (?:no |the ).* available/.exec(refusal);
  return m ? m[1] : undefined;
}

/** The command's result, as the server returns it. */
export interface TrainResult {
  readonly runDir: string;
  readonly bestMetric: number | null;
  readonly monitor: string;
  readonly status: string;
  /** The server's reason when the run did not complete (e.g. where the checkpoint is). */
  readonly detail?: string;
}

/** The reason when the server answered `{status: 'refused' | 'error', error}` instead of a run. */
export function trainRefusal(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const rec = value as Record<string, unknown>;
  if ((rec.status === 'refused' || rec.status === 'error') && !rec.run_dir) {
    return typeof rec.error === 'string' && rec.error ? rec.error : String(rec.status);
  }
  return undefined;
}

export function parseTrainResult(value: unknown): TrainResult {
  if (typeof value !== 'object' || value === null) {
    throw new Error(`arcgraph.train returned no result object: ${JSON.stringify(value)}`);
  }
  const rec = value as Record<string, unknown>;
  const runDir = rec.run_dir ?? rec.runDir;
  if (typeof runDir !== 'string' || runDir === '') {
    throw new Error(`arcgraph.train returned no run_dir: ${JSON.stringify(value)}`);
  }
  const best = rec.best_metric ?? rec.bestMetric;
  return {
    runDir,
    bestMetric: typeof best === 'number' && Number.isFinite(best) ? best : null,
    monitor: typeof rec.monitor === 'string' && rec.monitor ? rec.monitor : 'val_loss',
    status: typeof rec.status === 'string' && rec.status ? rec.status : 'completed',
    ...(typeof rec.error === 'string' && rec.error ? { detail: rec.error } : {}),
  };
}

export function formatMetric(value: number): string {
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e5 ? value.toFixed(4) : value.toExponential(3);
}

/** `early_stopped` -> `stopped early`, `completed` -> `completed`, other words as words. */
export function humanStatus(status: string): string {
  if (status === 'early_stopped') {
    return 'stopped early';
  }
  return status.replace(/_/g, ' ');
}

/** The status words that mean the run ended with a model (the rest are failures or stops). */
export function isSuccess(status: string): boolean {
  return ['completed', 'early_stopped', 'finished', 'ok', 'success', 'succeeded'].includes(status);
}

export function trainResultMessage(result: TrainResult, modelName: string): string {
  const metric =
    result.bestMetric === null ? 'no best metric' : `best ${result.monitor} ${formatMetric(result.bestMetric)}`;
  const head = isSuccess(result.status)
    ? `Arc-Graph: trained ${modelName} (${humanStatus(result.status)})`
    : `Arc-Graph: training of ${modelName} ${humanStatus(result.status)}`;
  const detail = !isSuccess(result.status) && result.detail ? ` (${result.detail})` : '';
  return `${head}: ${metric}${detail}.`;
}

/** The loss curves image the trainer writes into the run folder (training/rundir.py PLOT_FILE). */
export const CURVES_FILE = 'loss.png';

export function curvesPath(runDir: string): string {
  return runDir.replace(/[\\/]+$/, '') + '/' + CURVES_FILE;
}

/** A `$/progress` WorkDoneProgress value as a line for the status bar. */
export function progressText(value: { kind?: string; title?: string; message?: string; percentage?: number }, title: string): string {
  const pct = typeof value.percentage === 'number' ? ` ${Math.round(value.percentage)}%` : '';
  const msg = value.message ? `: ${value.message}` : '';
  return `${value.title ?? title}${msg}${pct}`;
}
