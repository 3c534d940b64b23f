// `arcgraph check --format json` output -> diagnostics per file (0-based ranges).

export type Severity = 'error' | 'warning' | 'info';

export interface CheckDiagnostic {
  readonly path: string;
  readonly startLine: number;
  readonly startColumn: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
}

function int(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
}

/** Parses the JSON array `check` prints; positions go from 1-based to 0-based. */
export function parseCheckOutput(stdout: string): CheckDiagnostic[] {
  const start = stdout.indexOf('[');
  if (start < 0) {
    throw new Error(`arcgraph check printed no JSON array: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const data = JSON.parse(stdout.slice(start)) as unknown;
  if (!Array.isArray(data)) {
    throw new Error('arcgraph check did not print an array');
  }
  const out: CheckDiagnostic[] = [];
  for (const item of data) {
    if (typeof item !== 'object' || item === null) {
      continue;
    }
    const r = item as Record<string, unknown>;
    if (typeof r.path !== 'string') {
      continue;
    }
    const line = Math.max(0, int(r.line, 1) - 1);
    const column = Math.max(0, int(r.column, 1) - 1);
    const endLine = Math.max(line, int(r.end_line, line + 1) - 1);
    let endColumn = Math.max(0, int(r.end_column, column + 1) - 1);
    if (endLine === line && endColumn <= column) {
      endColumn = column + 1;
    }
    const sev = r.severity === 'warning' || r.severity === 'info' ? r.severity : 'error';
    out.push({
      path: r.path,
      startLine: line,
      startColumn: column,
      endLine,
      endColumn,
      severity: sev,
      code: typeof r.code === 'string' ? r.code : '',
      message: typeof r.message === 'string' ? r.message : String(r.message ?? ''),
    });
  }
  return out;
}

/** Groups by absolute path (relative paths are taken from `cwd`). */
export function groupByFile(items: readonly CheckDiagnostic[], cwd: string): Map<string, CheckDiagnostic[]> {
  const map = new Map<string, CheckDiagnostic[]>();
  for (const item of items) {
    const abs = item.path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(item.path)
      ? item.path
      : `${cwd.replace(/[\\/]+$/, '')}/${item.path.replace(/^\.\//, '')}`;
    const list = map.get(abs) ?? [];
    list.push(item);
    map.set(abs, list);
  }
  return map;
}
