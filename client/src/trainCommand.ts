// Arc-Graph: Train Model — pick data and target, run `arcgraph.train` on the server, show the outcome.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import {
  csvHeadText,
  curvesPath,
  type DataFormats,
  dataFormatsOf,
  dataGlob,
  dialogExtensions,
  isParquet,
  CPU_OVERRIDE,
  isSuccess,
  modelInfo,
  type ModelInfo,
  orderDataFiles,
  orderTargetColumns,
  parseCsvHeader,
  parseTrainResult,
  progressText,
  TRAIN_COMMAND,
  trainArguments,
  parseProcessCount,
  processCountError,
  trainRefusal,
  trainerModelRef,
  trainResultMessage,
  unavailableDevice,
} from './logic/train';
import { runPython } from './run';
import type { ServerManager } from './server';

const EXCLUDE_GLOB = '**/{node_modules,.git,.venv,venv,runs,__pycache__}/**';

interface Remembered {
  data?: string;
  target?: string;
  processes?: number;
}

/** The trainer URI from a menu (Uri), a code lens (string or {trainer}) or the active editor. */
export function trainerFromArgument(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) {
    return arg;
  }
  if (typeof arg === 'string' && arg) {
    return arg.includes('://') || arg.startsWith('file:') ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
  }
  if (arg && typeof arg === 'object') {
    const rec = arg as Record<string, unknown>;
    const t = rec.trainer ?? rec.uri;
    if (typeof t === 'string' || t instanceof vscode.Uri) {
      return trainerFromArgument(t);
    }
  }
  return vscode.window.activeTextEditor?.document.uri;
}

function givenTrainInputs(arg: unknown): { data?: string; target?: string } {
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri) {
    return {};
  }
  const rec = arg as Record<string, unknown>;
  const data = typeof rec.data === 'string' && path.isAbsolute(rec.data) ? rec.data : undefined;
  const target = typeof rec.target === 'string' && rec.target ? rec.target : undefined;
  return { data, ...(data && target ? { target } : {}) };
}

export class TrainCommand {
  private readonly status: vscode.StatusBarItem;
  private running = false;
  private cancelCurrent: (() => void) | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly server: ServerManager,
  ) {
    this.status = vscode.window.createStatusBarItem('arcgraph.training', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'Arc-Graph Training';
    this.status.command = { command: 'arcgraph.cancelTraining', title: 'Cancel training' };
    context.subscriptions.push(this.status);
  }

  /** Arc-Graph: Cancel Training (also the status bar item while a run is going). */
  cancel(): void {
    if (this.cancelCurrent) {
      this.cancelCurrent();
    } else {
      void vscode.window.showInformationMessage('Arc-Graph: no training run is in progress.');
    }
  }

  async run(arg?: unknown): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage('Arc-Graph: training is disabled in Restricted Mode. Trust the workspace to train.');
      return;
    }
    if (this.running) {
      void vscode.window.showInformationMessage('Arc-Graph: a training run is already in progress.');
      return;
    }
    const trainer = trainerFromArgument(arg);
    if (!trainer) {
      void vscode.window.showErrorMessage('Arc-Graph: open a trainer spec (*.trainer.yaml) to train it.');
      return;
    }
    const doc = await vscode.workspace.openTextDocument(trainer);
    if (doc.isDirty) {
      await doc.save();
    }
    const modelRef = trainerModelRef(doc.getText());
    const info = await this.findModelInfo(modelRef);
    const key = `arcgraph.train:${trainer.toString()}`;
    const remembered = this.context.workspaceState.get<Remembered>(key, {});

    // the server says which data tables its trainer reads: it runs before the picks
    const formats = await this.dataFormats();
    if (!formats) {
      return;
    }
    // a caller (the server's code lens, a keybinding) may name the data and the target already
    const given = givenTrainInputs(arg);
    const data = given.data ?? (await this.pickData(trainer, formats, remembered.data, modelRef));
    if (!data) {
      return;
    }
    const target =
      given.target ??
      (await this.pickTarget(data, formats, info, remembered.data === data ? remembered.target : undefined));
    if (!target) {
      return;
    }
    const processes = await this.pickProcesses(remembered.processes);
    if (processes === undefined) {
      return;
    }
    await this.context.workspaceState.update(key, { data, target, processes } satisfies Remembered);
    await this.train(trainer, data, target, modelRef ?? path.basename(trainer.fsPath), [], processes);
  }

  /** How many training processes (torchrun's --nproc-per-node); 1, the default, is one. */
  private async pickProcesses(remembered?: number): Promise<number | undefined> {
    const text = await vscode.window.showInputBox({
      title: 'Training processes',
      prompt: 'Processes on this machine (torch.distributed, launched by torchrun); 1 trains in one process',
      value: String(remembered ?? 1),
      validateInput: processCountError,
      ignoreFocusOut: true,
    });
    return text === undefined ? undefined : parseProcessCount(text);
  }

  /** The running server's data formats (started if need be); undefined when it cannot run. */
  private async dataFormats(): Promise<DataFormats | undefined> {
    if (this.server.state !== 'running') {
      await this.server.start();
    }
    const client = this.server.client;
    if (!client || this.server.state !== 'running') {
      this.notRunning();
      return undefined;
    }
    return dataFormatsOf(client.initializeResult?.capabilities.experimental);
  }

  private notRunning(): void {
    void vscode.window.showErrorMessage(
      `Arc-Graph: the language server is not running${this.server.problem ? `: ${this.server.problem}` : ''}.`,
    );
  }

  private async findModelInfo(modelRef: string | undefined): Promise<ModelInfo> {
    if (!modelRef) {
      return { inputColumns: [] };
    }
    const files = await vscode.workspace.findFiles(`**/${modelRef}.model.{yaml,yml}`, EXCLUDE_GLOB, 1);
    const file = files[0];
    if (!file) {
      return { inputColumns: [] };
    }
    try {
      const text = (await vscode.workspace.openTextDocument(file)).getText();
      return modelInfo(text);
    } catch {
      return { inputColumns: [] };
    }
  }

  private async pickData(
    trainer: vscode.Uri,
    formats: DataFormats,
    remembered: string | undefined,
    modelRef?: string,
  ): Promise<string | undefined> {
    const glob = dataGlob(formats);
    const uris = glob ? await vscode.workspace.findFiles(glob, EXCLUDE_GLOB, 5000) : [];
    const files = uris.map((u) => u.fsPath);
    if (remembered && !files.includes(remembered)) {
      try {
        await fs.access(remembered);
        files.push(remembered);
      } catch {
        // the remembered file is gone
      }
    }
    const browse = '$(folder-opened) Browse...';
    const ordered = orderDataFiles(files, trainer.fsPath, remembered, modelRef);
    const items: vscode.QuickPickItem[] = ordered.map((f) => ({
      label: path.basename(f),
      description: vscode.workspace.asRelativePath(f, true),
      detail: f === remembered ? 'last used with this trainer' : undefined,
    }));
    items.push({ label: browse, alwaysShow: true });
    const pick = await vscode.window.showQuickPick(items, {
      title: `Train ${path.basename(trainer.fsPath)}: data (CSV or Parquet)`,
      placeHolder: 'the table to train on',
      matchOnDescription: true,
      ignoreFocusOut: true,
    });
    if (!pick) {
      return undefined;
    }
    if (pick.label === browse) {
      const chosen = await vscode.window.showOpenDialog({
        canSelectMany: false,
        filters: dialogExtensions(formats).length > 0 ? { 'Data tables': dialogExtensions(formats) } : undefined,
      });
      return chosen?.[0]?.fsPath;
    }
    return ordered[items.indexOf(pick)];
  }

  async columnsOf(file: string, formats: DataFormats): Promise<string[]> {
    if (isParquet(file, formats)) {
      const python = this.server.interpreter?.executable;
      if (!python) {
        return [];
      }
      const script = 'import json, sys\nimport pyarrow.parquet as pq\nprint(json.dumps(pq.read_schema(sys.argv[1]).names))';
      const result = await runPython(python, ['-c', script, file], { env: this.server.env() });
      if (result.code !== 0) {
        throw new Error(`cannot read the Parquet schema of ${file}: ${result.stderr.trim()}`);
      }
      return JSON.parse(result.stdout.trim()) as string[];
    }
    const handle = await fs.open(file, 'r');
    try {
      const buffer = Buffer.alloc(256 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return parseCsvHeader(csvHeadText(buffer.subarray(0, bytesRead), file));
    } finally {
      await handle.close();
    }
  }

  private async pickTarget(data: string, formats: DataFormats, info: ModelInfo, remembered?: string): Promise<string | undefined> {
    let columns: string[];
    try {
      columns = await this.columnsOf(data, formats);
    } catch (error) {
      void vscode.window.showErrorMessage(`Arc-Graph: ${(error as Error).message}`);
      return undefined;
    }
    if (columns.length === 0) {
      return vscode.window.showInputBox({ title: 'Target column', prompt: `no header found in ${data}`, ignoreFocusOut: true });
    }
    const ordered = orderTargetColumns(columns, info, remembered);
    const items: vscode.QuickPickItem[] = ordered.map((c) => ({
      label: c,
      description:
        c === remembered ? 'last used' : c === info.lossTarget ? "the model's loss target" : info.inputColumns.includes(c) ? 'model input' : undefined,
    }));
    const pick = await vscode.window.showQuickPick(items, {
      title: `Train on ${path.basename(data)}: target column`,
      placeHolder: 'the column the loss compares the prediction with',
      ignoreFocusOut: true,
    });
    return pick?.label;
  }

  private async train(
    trainer: vscode.Uri,
    data: string,
    target: string,
    modelName: string,
    overrides: readonly string[] = [],
    processes = 1,
  ): Promise<void> {
    if (this.server.state !== 'running') {
      await this.server.start();
    }
    const client = this.server.client;
    if (!client || this.server.state !== 'running') {
      this.notRunning();
      return;
    }
    const args = trainArguments(trainer.toString(), data, target, overrides, processes);
    const token = `arcgraph-train-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    this.running = true;
    const title = `Training ${modelName}`;
    this.status.text = `$(loading~spin) ${title}`;
    this.status.tooltip = `${title} on ${path.basename(data)} (target ${target}). Click to cancel.`;
    this.status.show();
    this.server.output.appendLine(`[arcgraph] ${TRAIN_COMMAND} ${JSON.stringify(args)}`);
    let result: unknown;
    let failure: unknown;
    let cancelled = false;
    // One cancellable notification for the run. It opens with the first progress the server
    // reports, on the `workDoneToken` we pass or on a token the server creates itself while the
    // run is going (adopted through ServerManager.progressAdopter instead of the language
    // client's status-bar-only progress). Cancel sends window/workDoneProgress/cancel for those
    // tokens, and cancels the request itself if the server has not answered 15 s later.
    const cts = new vscode.CancellationTokenSource();
    const tokens = new Set<string | number>([token]);
    const cancelRun = (): void => {
      if (cancelled) {
        return;
      }
      cancelled = true;
      for (const t of tokens) {
        void client.sendNotification(WorkDoneProgressCancelNotification.type, { token: t });
      }
      setTimeout(() => cts.cancel(), 15_000);
    };
    const request = client.sendRequest(
      ExecuteCommandRequest.type,
      { command: TRAIN_COMMAND, arguments: [args], workDoneToken: token },
      cts.token,
    );
    let report: ((value: WorkDoneProgressBegin | WorkDoneProgressReport) => void) | undefined;
    let opening = false;
    let latest: WorkDoneProgressBegin | WorkDoneProgressReport | undefined;
    const onValue = (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void => {
      this.status.text = `$(loading~spin) ${progressText(value, title)}`;
      if (value.kind === 'end') {
        return;
      }
      if (report) {
        report(value);
        return;
      }
      if (opening) {
        latest = value; // the notification is on its way
        return;
      }
      opening = true;
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Arc-Graph: ${title}`, cancellable: true },
        (progress, cancel) => {
          cancel.onCancellationRequested(cancelRun);
          let last = 0;
          report = (v) => {
            const pct = typeof v.percentage === 'number' ? v.percentage : undefined;
            progress.report({
              message: v.message ?? (v.kind === 'begin' ? v.title : undefined),
              increment: pct !== undefined ? Math.max(0, pct - last) : undefined,
            });
            if (pct !== undefined) {
              last = pct;
            }
          };
          report(value);
          if (latest) {
            report(latest);
          }
          return request.then(
            () => undefined,
            () => undefined,
          );
        },
      );
    };
    const subs: vscode.Disposable[] = [client.onProgress(WorkDoneProgress.type, token, onValue)];
    this.server.progressAdopter = (serverToken) => {
      tokens.add(serverToken);
      subs.push(client.onProgress(WorkDoneProgress.type, serverToken, onValue));
      if (cancelled) {
        void client.sendNotification(WorkDoneProgressCancelNotification.type, { token: serverToken });
      }
      return true;
    };
    this.cancelCurrent = cancelRun;
    try {
      result = await request;
    } catch (error) {
      failure = error;
    } finally {
      this.server.progressAdopter = undefined;
      for (const sub of subs) {
        sub.dispose();
      }
      cts.dispose();
      this.cancelCurrent = undefined;
      this.running = false;
      this.status.hide();
    }
    if (failure !== undefined) {
      const message = (failure as Error).message ?? String(failure);
      this.server.output.appendLine(`[arcgraph] training failed: ${message}`);
      const text = cancelled ? `Arc-Graph: training of ${modelName} was cancelled.` : `Arc-Graph: training of ${modelName} failed: ${message}`;
      const out = 'Show Output';
      const pick = await (cancelled ? vscode.window.showWarningMessage(text, out) : vscode.window.showErrorMessage(text, out));
      if (pick === out) {
        this.server.output.show(true);
      }
      return;
    }
    const refusal = trainRefusal(result);
    if (refusal !== undefined) {
      const device = overrides.includes(CPU_OVERRIDE) ? undefined : unavailableDevice(refusal);
      const onCpu = 'Train on the CPU';
      const text = `Arc-Graph: training of ${modelName} did not run: ${refusal}`;
      if (!device) {
        void vscode.window.showErrorMessage(text);
        return;
      }
      // the spec's device is missing here: offer this run on the CPU (--set config.device=cpu)
      if ((await vscode.window.showErrorMessage(text, onCpu)) === onCpu) {
        await this.train(trainer, data, target, modelName, [...overrides, CPU_OVERRIDE], processes);
      }
      return;
    }
    let parsed;
    try {
      parsed = parseTrainResult(result);
    } catch (error) {
      void vscode.window.showErrorMessage(`Arc-Graph: ${(error as Error).message}`);
      return;
    }
    this.server.output.appendLine(`[arcgraph] result: ${JSON.stringify(result)}`);
    const openFolder = 'Open run folder';
    const curves = 'Show curves';
    const show = isSuccess(parsed.status) ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    const pick = await show(`${trainResultMessage(parsed, modelName)} Run folder: ${vscode.workspace.asRelativePath(parsed.runDir, false)}`, openFolder, curves);
    const runDir = vscode.Uri.file(parsed.runDir);
    if (pick === openFolder) {
      if (vscode.workspace.getWorkspaceFolder(runDir)) {
        await vscode.commands.executeCommand('revealInExplorer', runDir);
      } else {
        await vscode.commands.executeCommand('revealFileInOS', runDir);
      }
    } else if (pick === curves) {
      await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(curvesPath(parsed.runDir)));
    }
  }
}
