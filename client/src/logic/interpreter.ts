// Which Python runs the server, and what that Python is. No `vscode` import: unit-tested in node.

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface InterpreterChoice {
  /** The command to run: a path, or a name looked up on PATH (`python3`). */
  readonly command: string;
  readonly source: InterpreterSource;
  /** Set when a value was ignored, e.g. a workspace setting in Restricted Mode. */
  readonly note?: string;
}

/** The values of `arcgraph.interpreter` at each level, as `WorkspaceConfiguration.inspect` gives them. */
export interface SettingLevels {
  readonly user?: string;
  readonly workspace?: string;
  readonly workspaceFolder?: string;
}

export interface ChoiceInputs {
  readonly trusted: boolean;
  readonly setting: SettingLevels;
  /** The executable of the Python extension's active environment, when that extension is there. */
  readonly pythonExtension?: string;
  readonly workspaceFolder?: string;
  readonly home: string;
  readonly fallback?: string;
}

const nonEmpty = (value: string | undefined): value is string =>
  typeof value === 'string' && value.trim() !== '';

/** Expands `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`. */
export function expandPath(
  value: string,
  workspaceFolder: string | undefined,
  home: string,
  env: Readonly<Record<string, string | undefined>> = {},
): string {
  let out = value.trim();
  if (out === '~' || out.startsWith('~/')) {
    out = home + out.slice(1);
  }
  out = out.replace(/\$\{userHome\}/g, home);
  out = out.replace(/\$\{env:([^}]+)\}/g, (_m, name: string) => env[name] ?? '');
  if (workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  return out;
}

/**
 * The setting wins, then the Python extension's active environment, then `python3`.
 * In Restricted Mode (untrusted workspace) only the user-level setting counts, and the Python
 * extension's environment is not used either (it is often the workspace's own virtualenv):
 * nothing the workspace controls gets started.
 */
export function chooseInterpreter(inputs: ChoiceInputs): InterpreterChoice {
  const fallback = inputs.fallback ?? 'python3';
  const expand = (v: string): string => expandPath(v, inputs.workspaceFolder, inputs.home);
  const { user, workspace, workspaceFolder } = inputs.setting;
  if (inputs.trusted) {
    const value = [workspaceFolder, workspace, user].find(nonEmpty);
    if (value !== undefined) {
      return { command: expand(value), source: 'setting' };
    }
    if (nonEmpty(inputs.pythonExtension)) {
      return { command: inputs.pythonExtension, source: 'python-extension' };
    }
    return { command: fallback, source: 'default' };
  }
  const ignored = [workspaceFolder, workspace].some(nonEmpty)
    ? 'arcgraph.interpreter from workspace settings is ignored in Restricted Mode'
    : undefined;
  if (nonEmpty(user)) {
    return { command: expand(user), source: 'setting', ...(ignored ? { note: ignored } : {}) };
  }
  return { command: fallback, source: 'default', ...(ignored ? { note: ignored } : {}) };
}

/** Run as `python -c PROBE_SCRIPT`: one JSON line about the interpreter and its torch. */
export const PROBE_SCRIPT = [
  'import json, sys',
  'try:',
  '    import importlib.metadata as m',
  "    t = m.version('torch')",
  'except Exception:',
  '    t = None',
  "print(json.dumps({'version': list(sys.version_info[:3]), 'executable': sys.executable, 'torch': t}))",
].join('\n');

export interface ProbeResult {
  readonly version: readonly [number, number, number];
  readonly executable: string;
  /** The installed torch distribution's version, or null when torch is not installed. */
  readonly torch: string | null;
}

/** Parses the probe's output (the last JSON line; anything printed before it is ignored). */
export function parseProbe(stdout: string): ProbeResult {
  const lines = stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('{'));
  const last = lines[lines.length - 1];
  if (last === undefined) {
    throw new Error(`the interpreter printed no probe result: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const data = JSON.parse(last) as unknown;
  if (typeof data !== 'object' || data === null) {
    throw new Error('the probe result is not an object');
  }
  const rec = data as Record<string, unknown>;
  const v = rec.version;
  if (!Array.isArray(v) || v.length < 2 || !v.every((n) => Number.isInteger(n))) {
    throw new Error('the probe result has no version');
  }
  const nums = v as number[];
  const version: [number, number, number] = [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0];
  const executable = typeof rec.executable === 'string' ? rec.executable : '';
  const torch = typeof rec.torch === 'string' && rec.torch !== '' ? rec.torch : null;
  return { version, executable, torch };
}

export const MIN_PYTHON: readonly [number, number] = [3, 10];

/** undefined when the version is fine, else a sentence saying what is wrong and what to do. */
export function versionProblem(
  command: string,
  version: readonly number[],
  min: readonly [number, number] = MIN_PYTHON,
): string | undefined {
  const [major = 0, minor = 0] = version;
  if (major > min[0] || (major === min[0] && minor >= min[1])) {
    return undefined;
  }
  return (
    `Arc-Graph needs Python ${min[0]}.${min[1]} or newer, but ${command} is Python ${version.join('.')}. ` +
    'Set "arcgraph.interpreter" or select another interpreter in the Python extension.'
  );
}

/** A sentence for an interpreter that could not be run at all. */
export function launchProblem(command: string, error: { code?: unknown; message?: unknown }): string {
  if (error.code === 'ENOENT') {
    return (
      `Arc-Graph could not find the Python interpreter "${command}". ` +
      'Install Python 3.10 or newer, set "arcgraph.interpreter", or select an interpreter in the Python extension.'
    );
  }
  if (error.code === 'EACCES') {
    return `Arc-Graph cannot run "${command}" (permission denied). Set "arcgraph.interpreter" to a Python executable.`;
  }
  return `Arc-Graph could not run "${command}": ${String(error.message ?? error.code ?? 'unknown error')}`;
}

/** The command that installs torch (CPU is enough for checks) into the given interpreter. */
export function torchInstallCommand(python: string): string {
  return `${shellQuote(python)} -m pip install torch`;
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'"'"'`)}'`;
}
