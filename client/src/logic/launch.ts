// How the server and the CLI are launched: arguments, environment, initialization options.

export const SERVER_ARGS: readonly string[] = ['-m', 'arcgraph', 'lsp'];

/** `python -m arcgraph check --format json <folder>`. */
export function checkArgs(folder: string): string[] {
  return ['-m', 'arcgraph', 'check', '--format', 'json', folder];
}

/**
 * The environment of the server: the bundled libraries (arcgraph and its pure-Python
 * dependencies) come first on PYTHONPATH, so the user's environment needs only Python (and
 * torch for torch checks and training). The server's children (the torch worker) inherit it.
 */
export function serverEnv(
  base: Readonly<Record<string, string | undefined>>,
  bundledLibs: string | undefined,
  pathSeparator = ':',
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined) {
      env[k] = v;
    }
  }
  if (bundledLibs !== undefined) {
    const rest = (env.PYTHONPATH ?? '').split(pathSeparator).filter((p) => p !== '' && p !== bundledLibs);
    env.PYTHONPATH = [bundledLibs, ...rest].join(pathSeparator);
  }
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONIOENCODING = 'utf-8';
  return env;
}

/** The `arcgraph` settings section, as the extension reads it. */
export interface ArcGraphSettings {
  readonly registryFolders: readonly string[];
  readonly registryInclude: readonly string[];
  readonly shapeCheck: boolean;
}

/**
 * `initializationOptions`: the server's own keys (`python`, `shapeCheck`) and the settings
 * section as VS Code has it (`registry`, `checks`), under `arcgraph`.
 */
export function initializationOptions(settings: ArcGraphSettings, python: string): Record<string, unknown> {
  return {
    arcgraph: {
      python,
      interpreter: python,
      shapeCheck: settings.shapeCheck,
      registry: { folders: [...settings.registryFolders], include: [...settings.registryInclude] },
      checks: { shape: settings.shapeCheck },
      // this client shows the outcome of `arcgraph.train` itself (from the command's result,
      // with buttons) and reports progress sent on the `workDoneToken` it passes: a server may
      // leave out its own closing showMessage
      client: { showsTrainResult: true, trainProgressOnWorkDoneToken: true },
    },
  };
}

/**
 * The `arcgraph` settings section as the server sees it (pushed with didChangeConfiguration or
 * pulled with workspace/configuration): `interpreter` (and `python`) become the interpreter the
 * client resolved, probed and trust-checked, never the raw setting (`~`, `${workspaceFolder}`,
 * a workspace value in Restricted Mode).
 */
export function settingsForServer(section: unknown, python: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> =
    section !== null && typeof section === 'object' && !Array.isArray(section) ? { ...(section as Record<string, unknown>) } : {};
  if (python) {
    out.interpreter = python;
    out.python = python;
  } else {
    delete out.interpreter;
    delete out.python;
  }
  return out;
}
