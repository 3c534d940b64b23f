// Owns the language client: picks and probes the interpreter, starts, restarts, reports state.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  type LanguageClientOptions,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';
import {
  chooseInterpreter,
  type InterpreterChoice,
  launchProblem,
  parseProbe,
  PROBE_SCRIPT,
  type ProbeResult,
  torchInstallCommand,
  versionProblem,
} from './logic/interpreter';
import { initializationOptions, SERVER_ARGS, serverEnv, settingsForServer } from './logic/launch';
import { TRAIN_COMMAND } from './logic/train';
import { activeEnvironmentExecutable } from './python';
import { runPython } from './run';

export type ServerState = 'stopped' | 'starting' | 'running' | 'failed';

export interface Interpreter {
  readonly choice: InterpreterChoice;
  /** The absolute executable (sys.executable) when the probe ran. */
  readonly executable: string;
  readonly probe: ProbeResult;
}

export class ServerManager implements vscode.Disposable {
  client: LanguageClient | undefined;
  interpreter: Interpreter | undefined;
  state: ServerState = 'stopped';
  problem: string | undefined;
  private readonly status: vscode.StatusBarItem;
  private readonly torchWarned = new Set<string>();
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private starting: Promise<void> | undefined;
  /** Runs the Train flow for `arcgraph.train` invoked from the server's code lens or actions. */
  trainHandler: ((arg: unknown) => Promise<unknown>) | undefined;
  /** Takes over a server-created progress token (true) while a Train command runs. */
  progressAdopter: ((token: string | number) => boolean) | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.OutputChannel,
  ) {
    this.status = vscode.window.createStatusBarItem('arcgraph.server', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Arc-Graph';
    this.status.command = 'arcgraph.showOutput';
    this.render();
    this.status.show();
  }

  /** The bundled Python libraries (arcgraph + pure-Python dependencies), if the build has them. */
  bundledLibs(): string | undefined {
    const libs = path.join(this.context.extensionPath, 'bundled', 'libs');
    return fs.existsSync(path.join(libs, 'arcgraph')) ? libs : undefined;
  }

  env(): Record<string, string> {
    return serverEnv(process.env, this.bundledLibs(), path.delimiter);
  }

  workspaceFolder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.[0];
  }

  /** Chooses the interpreter (setting > Python extension > python3) and probes it. */
  async resolveInterpreter(): Promise<Interpreter> {
    const folder = this.workspaceFolder();
    const inspected = vscode.workspace.getConfiguration('arcgraph', folder?.uri).inspect<string>('interpreter');
    const trusted = vscode.workspace.isTrusted;
    const choice = chooseInterpreter({
      trusted,
      setting: {
        user: inspected?.globalValue,
        workspace: inspected?.workspaceValue,
        workspaceFolder: inspected?.workspaceFolderValue,
      },
      pythonExtension: trusted ? await activeEnvironmentExecutable(folder?.uri) : undefined,
      workspaceFolder: folder?.uri.fsPath,
      home: os.homedir(),
    });
    if (choice.note) {
      this.output.appendLine(`[arcgraph] ${choice.note}`);
    }
    this.output.appendLine(`[arcgraph] interpreter: ${choice.command} (from ${choice.source})`);
    let result;
    try {
      result = await runPython(choice.command, ['-c', PROBE_SCRIPT], { env: this.env(), timeoutMs: 30_000 });
    } catch (error) {
      throw new Error(launchProblem(choice.command, error as NodeJS.ErrnoException));
    }
    if (result.code !== 0) {
      throw new Error(`Arc-Graph could not run "${choice.command}": ${result.stderr.trim() || `exit code ${result.code}`}`);
    }
    const probe = parseProbe(result.stdout);
    const problem = versionProblem(choice.command, probe.version);
    if (problem) {
      throw new Error(problem);
    }
    return { choice, executable: probe.executable || choice.command, probe };
  }

  async start(): Promise<void> {
    if (this.starting) {
      return this.starting;
    }
    this.starting = this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.setState('starting');
    this.problem = undefined;
    let interpreter: Interpreter;
    try {
      interpreter = await this.resolveInterpreter();
    } catch (error) {
      this.fail((error as Error).message);
      return;
    }
    this.interpreter = interpreter;
    const { probe, executable } = interpreter;
    this.output.appendLine(
      `[arcgraph] Python ${probe.version.join('.')} at ${executable}; torch ${probe.torch ?? 'not installed'}; ` +
        `bundled libraries: ${this.bundledLibs() ?? 'none (using the interpreter\'s arcgraph)'}`,
    );
    if (probe.torch === null) {
      void this.warnNoTorch(executable);
    }
    const folder = this.workspaceFolder();
    // no `transport`: TransportKind.stdio would append `--stdio` to the arguments
    const serverOptions: ServerOptions = {
      command: executable,
      args: [...SERVER_ARGS],
      options: { env: this.env(), cwd: folder?.uri.fsPath },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'yaml' },
        { scheme: 'untitled', language: 'yaml' },
      ],
      synchronize: { configurationSection: 'arcgraph' },
      outputChannel: this.output,
      traceOutputChannel: this.output,
      initializationOptions: initializationOptions(this.settingsSection(), executable),
      diagnosticCollectionName: 'arcgraph',
      middleware: {
        workspace: {
          // the server reads `interpreter` from the settings: give it the resolved one
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) {
              return result;
            }
            return result.map((value: unknown, i: number) =>
              params.items[i]?.section === 'arcgraph' ? settingsForServer(value, this.interpreter?.executable) : value,
            );
          },
          didChangeConfiguration: async (sections, next) => {
            const client = this.client;
            if (!client || !sections?.includes('arcgraph')) {
              return next(sections);
            }
            await client.sendNotification(DidChangeConfigurationNotification.type, {
              settings: { arcgraph: settingsForServer(this.settingsSection(), this.interpreter?.executable) },
            });
          },
        },
        // the server's own entry points to training (its code lens, its source action) go
        // through the client's Train flow: trust check, data and target picks, progress, result
        executeCommand: async (command, args, next) => {
          if (command === TRAIN_COMMAND && this.trainHandler) {
            return this.trainHandler(args[0]);
          }
          return next(command, args);
        },
        provideCodeLenses: async (document, token, next) => {
          const lenses = await next(document, token);
          if (!vscode.workspace.isTrusted && lenses) {
            return lenses.filter((lens) => lens.command?.command !== TRAIN_COMMAND);
          }
          return lenses;
        },
      },
    };
    const client = new LanguageClient('arcgraph', 'Arc-Graph', serverOptions, clientOptions);
    client.onDidChangeState((e) => {
      if (client !== this.client) {
        return;
      }
      if (e.newState === State.Running) {
        this.setState('running');
      } else if (e.newState === State.Stopped && this.state !== 'failed') {
        this.setState('stopped');
      }
    });
    this.client = client;
    try {
      await client.start();
      this.handleServerProgress(client);
      this.setState('running');
    } catch (error) {
      this.fail(`Arc-Graph language server did not start: ${(error as Error).message ?? String(error)}`);
    }
  }

  /**
   * Server-created progress (`window/workDoneProgress/create`): offered to `progressAdopter`
   * first (a running Train command shows it as its cancellable notification), else shown in
   * the status bar like the language client does, cancellable there when the server says so.
   */
  private handleServerProgress(client: LanguageClient): void {
    client.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
      if (this.progressAdopter?.(params.token)) {
        return;
      }
      let resolve: (() => void) | undefined;
      let progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
      let reported = 0;
      const sub = client.onProgress(WorkDoneProgress.type, params.token, (value) => {
        if (value.kind === 'begin') {
          void vscode.window.withProgress(
            { location: vscode.ProgressLocation.Window, title: value.title, cancellable: value.cancellable },
            (p, cancel) => {
              progress = p;
              cancel.onCancellationRequested(() => {
                void client.sendNotification(WorkDoneProgressCancelNotification.type, { token: params.token });
              });
              return new Promise<void>((r) => {
                resolve = r;
              });
            },
          );
        }
        if (value.kind === 'end') {
          sub.dispose();
          resolve?.();
          return;
        }
        const pct = typeof value.percentage === 'number' ? Math.max(0, Math.min(100, value.percentage)) : undefined;
        progress?.report({ message: value.message, increment: pct !== undefined ? Math.max(0, pct - reported) : undefined });
        if (pct !== undefined) {
          reported = Math.max(reported, pct);
        }
      });
    });
  }

  /** The `arcgraph` settings of the workspace folder, as VS Code nests them. */
  private settingsSection(): unknown {
    return vscode.workspace.getConfiguration(undefined, this.workspaceFolder()?.uri).get('arcgraph');
  }

  private async warnNoTorch(executable: string): Promise<void> {
    if (this.torchWarned.has(executable)) {
      return;
    }
    this.torchWarned.add(executable);
    const command = torchInstallCommand(executable);
    const copy = 'Copy Command';
    const pick = await vscode.window.showWarningMessage(
      `Arc-Graph: torch is not installed in ${executable}. Structure checks keep working; torch checks and training need torch: ${command}`,
      copy,
    );
    if (pick === copy) {
      await vscode.env.clipboard.writeText(command);
    }
  }

  private fail(message: string): void {
    this.problem = message;
    this.output.appendLine(`[arcgraph] ${message}`);
    this.setState('failed');
    const settings = 'Open Settings';
    const out = 'Show Output';
    void vscode.window.showErrorMessage(message, settings, out).then((pick) => {
      if (pick === settings) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'arcgraph.interpreter');
      } else if (pick === out) {
        this.output.show(true);
      }
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.appendLine(`[arcgraph] stopping the server: ${(error as Error).message}`);
      }
      try {
        await client.dispose();
      } catch {
        // already stopped
      }
    }
    this.setState('stopped');
  }

  async restart(): Promise<void> {
    if (this.starting) {
      await this.starting;
    }
    await this.stop();
    await this.start();
  }

  private setState(state: ServerState): void {
    this.state = state;
    this.render();
    this.stateEmitter.fire(state);
  }

  private render(): void {
    const torch = this.interpreter?.probe.torch;
    const torchText = this.interpreter ? (torch ? `torch ${torch}` : 'no torch') : '';
    switch (this.state) {
      case 'starting':
        this.status.text = '$(loading~spin) Arc-Graph';
        this.status.tooltip = 'Arc-Graph: starting the language server';
        break;
      case 'running':
        this.status.text = `$(check) Arc-Graph: ${torchText}`;
        this.status.tooltip =
          `Arc-Graph language server running\nPython ${this.interpreter?.probe.version.join('.') ?? '?'}: ` +
          `${this.interpreter?.executable ?? '?'}\n${torch ? `checks use torch ${torch}` : 'torch not installed: structure checks only'}`;
        break;
      case 'failed':
        this.status.text = '$(error) Arc-Graph';
        this.status.tooltip = this.problem ?? 'Arc-Graph language server failed';
        break;
      default:
        this.status.text = '$(circle-slash) Arc-Graph';
        this.status.tooltip = 'Arc-Graph language server stopped';
    }
    this.status.backgroundColor =
      this.state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    void this.stop();
    this.status.dispose();
    this.stateEmitter.dispose();
  }
}
