// Bundles src/extension.ts and its dependencies into one CommonJS file, dist/extension.js, and
// the graph view's webview script (src/webview/graph.ts with elkjs) into media/graphView.js:
// the webview loads it from the extension's files, never from the network.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const webview = await esbuild.context({
  entryPoints: ['src/webview/graph.ts'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  outfile: 'media/graphView.js',
  minify: production,
  sourcemap: false,
  logLevel: 'info',
});
const ctx = await esbuild.context({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  outfile: 'dist/extension.js',
  external: ['vscode'],
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'info',
});
if (watch) {
  await Promise.all([ctx.watch(), webview.watch()]);
} else {
  await Promise.all([ctx.rebuild(), webview.rebuild()]);
  await Promise.all([ctx.dispose(), webview.dispose()]);
}
