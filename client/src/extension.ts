// Entry point: wires the server manager, the commands, the settings and the schemas together.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CheckWorkspaceCommand } from './checkWorkspace';
import { GraphViewCommand } from './graphView';
import { updatedYamlSchemas } from './logic/schemas';
import { onDidChangeActiveEnvironment } from './python';
import { ServerManager } from './server';
import { TrainCommand } from './trainCommand';

let manager: ServerManager | undefined;

export interface ArcGraphApi {
  readonly server: ServerManager;
}

export async function activate(context: vscode.ExtensionContext): Promise<ArcGraphApi> {
  const output = vscode.window.createOutputChannel('Arc-Graph');
  context.subscriptions.push(output);
  const server = new ServerManager(context, output);
  manager = server;
  context.subscriptions.push(server);
  const train = new TrainCommand(context, server);
  server.trainHandler = (arg) => train.run(arg);
  const check = new CheckWorkspaceCommand(server);
  context.subscriptions.push(check);
  const graph = new GraphViewCommand(context, server);
  context.subscriptions.push(graph);

  context.subscriptions.push(
    vscode.commands.registerCommand('arcgraph.trainModel', (arg?: unknown) => train.run(arg)),
    vscode.commands.registerCommand('arcgraph.cancelTraining', () => train.cancel()),
    vscode.commands.registerCommand('arcgraph.restartServer', () => server.restart()),
    vscode.commands.registerCommand('arcgraph.showOutput', () => output.show(true)),
    vscode.commands.registerCommand('arcgraph.checkWorkspace', () => check.run()),
    vscode.commands.registerCommand('arcgraph.showModelGraph', () => graph.show()),
  );

  // a new interpreter needs a new server; other settings reach it as didChangeConfiguration
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('arcgraph.interpreter')) {
        void server.restart();
      }
      if (e.affectsConfiguration('arcgraph.contributeSchemasToYamlExtension')) {
        void syncYamlSchemas(context, output);
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void server.restart()),
  );
  void onDidChangeActiveEnvironment(() => {
    const value = vscode.workspace.getConfiguration('arcgraph').get<string>('interpreter', '');
    if (!value.trim()) {
      void server.restart();
    }
  }, context.subscriptions);

  void syncYamlSchemas(context, output);
  await server.start();
  return { server };
}

/**
 * The spec schemas are not contributed through `yamlValidation`: the Arc-Graph server already
 * reports every schema error, and the Red Hat YAML extension would report each one a second
 * time. With `arcgraph.contributeSchemasToYamlExtension` they are added to the user's
 * `yaml.schemas` (and removed again when the setting is turned off).
 */
async function syncYamlSchemas(context: vscode.ExtensionContext, output: vscode.OutputChannel): Promise<void> {
  const enabled = vscode.workspace.getConfiguration('arcgraph').get<boolean>('contributeSchemasToYamlExtension', false);
  const yaml = vscode.workspace.getConfiguration('yaml');
  const existing = yaml.inspect<Record<string, unknown>>('schemas')?.globalValue;
  if (!enabled && existing === undefined) {
    return;
  }
  const schemaDir = path.join(context.extensionPath, 'schemas').split(path.sep).join('/');
  const next = updatedYamlSchemas(existing, schemaDir, enabled);
  if (next === undefined) {
    return;
  }
  try {
    await yaml.update('schemas', next, vscode.ConfigurationTarget.Global);
    output.appendLine(`[arcgraph] ${enabled ? 'registered' : 'removed'} the spec schemas in yaml.schemas`);
  } catch (error) {
    output.appendLine(`[arcgraph] could not update yaml.schemas: ${(error as Error).message}`);
  }
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
  manager = undefined;
}
