// The Python extension's active environment (when that extension is installed), and its changes.
import * as vscode from 'vscode';
import type { PythonExtension } from '@vscode/python-extension';

const PYTHON_EXTENSION_ID = 'ms-python.python';

let api: PythonExtension | undefined;

async function pythonApi(): Promise<PythonExtension | undefined> {
  if (api) {
    return api;
  }
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) {
    return undefined;
  }
  try {
    const { PythonExtension } = await import('@vscode/python-extension');
    api = await PythonExtension.api();
    return api;
  } catch {
    return undefined;
  }
}

/** The executable of the active environment for `resource`, or undefined. */
export async function activeEnvironmentExecutable(resource?: vscode.Uri): Promise<string | undefined> {
  const python = await pythonApi();
  if (!python) {
    return undefined;
  }
  try {
    const envPath = python.environments.getActiveEnvironmentPath(resource);
    const resolved = await python.environments.resolveEnvironment(envPath);
    return resolved?.executable.uri?.fsPath ?? envPath.path;
  } catch {
    return undefined;
  }
}

/** Calls `listener` when the Python extension's active environment changes. */
export async function onDidChangeActiveEnvironment(
  listener: () => void,
  disposables: vscode.Disposable[],
): Promise<void> {
  const python = await pythonApi();
  if (python) {
    disposables.push(python.environments.onDidChangeActiveEnvironmentPath(() => listener()));
  }
}
