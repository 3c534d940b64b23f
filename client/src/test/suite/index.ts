// Mocha runner for the extension-host tests (client/src/test/suite/*.test.ts). VS Code loads
// out/test/suite/index.js as `extensionTestsPath` and calls run(); a rejection means failure.
// Started by tests/e2e/exthost.test.cjs (through scripts/e2e) in VS Code's own server.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // the report reaches the driver through the workbench log (codeAutomationLog) one console.log
  // call at a time: format it here (printf-style arguments arrive unformatted) and tag it
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => {
    for (const line of util.format(...args).split('\n')) {
      // eslint-disable-next-line no-console -- the extension host forwards console output only
      console.log(`[mocha] ${line}`);
    }
  };
  const mocha = new Mocha({ ui: 'tdd', color: false, reporter: 'spec', timeout: 120_000 });
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  for (const f of files) {
    mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => {
        if (failures > 0) {
          reject(new Error(`${failures} extension-host test(s) failed`));
        } else {
          resolve();
        }
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
