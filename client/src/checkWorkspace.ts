// Arc-Graph: Check Workspace — `python -m arcgraph check --format json <folder>` into the Problems panel.
import * as vscode from 'vscode';
import { checkArgs } from './logic/launch';
import { type CheckDiagnostic, groupByFile, parseCheckOutput } from './logic/check';
import { runPython } from './run';
import type { ServerManager } from './server';

const SEVERITY: Record<CheckDiagnostic['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

export function toDiagnostic(d: CheckDiagnostic): vscode.Diagnostic {
  const diag = new vscode.Diagnostic(
    new vscode.Range(d.startLine, d.startColumn, d.endLine, d.endColumn),
    d.message,
    SEVERITY[d.severity],
  );
  diag.source = 'arcgraph check';
  if (d.code) {
    diag.code = d.code;
  }
  return diag;
}

export class CheckWorkspaceCommand implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('arcgraph-check');
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly server: ServerManager) {
    // open files have the language server's live diagnostics: never show both
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((doc) => this.collection.delete(doc.uri)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) {
          this.collection.delete(e.document.uri);
        }
      }),
    );
  }

  async run(): Promise<number | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      void vscode.window.showInformationMessage('Arc-Graph: open a folder to check it.');
      return undefined;
    }
    let interpreter = this.server.interpreter;
    if (!interpreter) {
      try {
        interpreter = await this.server.resolveInterpreter();
      } catch (error) {
        void vscode.window.showErrorMessage((error as Error).message);
        return undefined;
      }
    }
    const python = interpreter.executable;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Arc-Graph: checking the workspace', cancellable: true },
      async (_progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        this.collection.clear();
        let total = 0;
        let errors = 0;
        try {
          for (const folder of folders) {
            const cwd = folder.uri.fsPath;
            const result = await runPython(python, checkArgs(cwd), {
              env: this.server.env(),
              cwd,
              timeoutMs: 10 * 60_000,
              signal: abort.signal,
            });
            if (result.code !== 0 && result.code !== 1) {
              throw new Error(result.stderr.trim() || `arcgraph check exited with ${result.code}`);
            }
            const items = parseCheckOutput(result.stdout);
            const open = new Set(vscode.workspace.textDocuments.map((d) => d.uri.fsPath));
            for (const [file, list] of groupByFile(items, cwd)) {
              if (open.has(file)) {
                continue; // the language server reports it live
              }
              this.collection.set(vscode.Uri.file(file), list.map(toDiagnostic));
              total += list.length;
              errors += list.filter((d) => d.severity === 'error').length;
            }
          }
        } catch (error) {
          if (!token.isCancellationRequested) {
            void vscode.window.showErrorMessage(`Arc-Graph: Check Workspace failed: ${(error as Error).message}`);
          }
          return undefined;
        } finally {
          sub.dispose();
        }
        this.server.output.appendLine(`[arcgraph] check: ${total} diagnostics, ${errors} errors`);
        await vscode.commands.executeCommand('workbench.actions.view.problems');
        return total;
      },
    );
  }

  dispose(): void {
    this.collection.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
