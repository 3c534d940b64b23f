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

/**
 * `initializationOptions`: the settings section as the server reads it (`settingsForServer`),
 * plus what this client does itself, under `arcgraph` (docs/clients.md has the shape).
 */
export function initializationOptions(section: unknown, python: string): Record<string, unknown> {
  return {
    arcgraph: {
      ...settingsForServer(section, python),
      // this client shows the outcome of `arcgraph.train` itself (from the command's result,
      // with buttons) and reports progress sent on the `workDoneToken` it passes: a server may
      // leave out its own closing showMessage
      client: { showsTrainResult: true, trainProgressOnWorkDoneToken: true },
    },
  };
}

/**
 * The `arcgraph` settings section as the server gets it, in one spelling wherever it goes
 * (initialization options, answers to workspace/configuration, didChangeConfiguration): VS Code's
 * `arcgraph.*` settings as the one nested object VS Code makes of them (`arcgraph.checks.shape`
 * is `checks.shape`), with `interpreter` the one the client resolved, probed and trust-checked,
 * never the raw setting (`~`, `${workspaceFolder}`, a workspace value in Restricted Mode); the
 * server's old spelling of it, `python`, is never passed on.
 */
export function settingsForServer(section: unknown, python: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> =
    section !== null && typeof section === 'object' && !Array.isArray(section) ? { ...(section as Record<string, unknown>) } : {};
  delete out.python;
  if (python) {
    out.interpreter = python;
  } else {
    delete out.interpreter;
  }
  return out;
}
