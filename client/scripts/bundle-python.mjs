// Bundles the server's Python code and its pure-Python dependencies into bundled/libs, which the
// extension puts first on PYTHONPATH: the user's environment then needs only Python >= 3.10
// (and torch for torch checks and training).
//
//  1. arcgraph itself, built from the repository (pip --no-deps, from a copy of the sources so
//     the work tree gets no build/ or egg-info).
//  2. its dependencies (PyYAML, pygls, lsprotocol, cattrs, attrs, ...) resolved for
//     the oldest supported Python (3.10), so conditional ones such as exceptiongroup are there.
//  3. compiled extensions are removed (PyYAML falls back to pure Python), so the
//     bundle works with any CPython >= 3.10 on any platform.
//
// The Python running pip: $ARCGRAPH_BUNDLE_PYTHON, else ../.venv/bin/python, else python3.
// Extra pip arguments (e.g. --no-index --find-links DIR for an offline build): $ARCGRAPH_BUNDLE_PIP_ARGS.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const client = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(client, '..');
const libs = join(client, 'bundled', 'libs');
const venvPython = join(repo, '.venv', 'bin', 'python');
const python = process.env.ARCGRAPH_BUNDLE_PYTHON || (existsSync(venvPython) ? venvPython : 'python3');
const extra = (process.env.ARCGRAPH_BUNDLE_PIP_ARGS ?? '').split(/\s+/).filter(Boolean);
// exceptiongroup: cattrs needs it on 3.10 only, and pip evaluates markers for the running Python.
const DEPENDENCIES = ['PyYAML>=6.0', 'ruamel.yaml>=0.18.6,<0.20', 'pygls>=2.0,<3', 'lsprotocol>=2025.0.0', 'attrs>=24.3.0', 'cattrs>=23.1.2', 'exceptiongroup>=1.1.1', 'typing_extensions>=4.14'];

function pip(args) {
  const full = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-compile', '--quiet', '--target', libs, ...extra, ...args];
  console.log(`$ ${python} ${full.join(' ')}`);
  execFileSync(python, full, { stdio: 'inherit' });
}

function walk(dir, visit) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (name === '__pycache__') {
        rmSync(p, { recursive: true, force: true });
      } else {
        walk(p, visit);
      }
    } else {
      visit(p, name);
    }
  }
}

rmSync(libs, { recursive: true, force: true });

// 1. arcgraph, from a copy of the sources
const src = mkdtempSync(join(tmpdir(), 'arcgraph-bundle-'));
try {
  for (const name of ['pyproject.toml', 'README.md', 'server']) {
    cpSync(join(repo, name), join(src, name), {
      recursive: true,
      filter: (p) => !/(__pycache__|\.egg-info)(\/|$)/.test(p),
    });
  }
  try {
    pip(['--no-deps', '--no-build-isolation', src]); // offline when setuptools is installed
  } catch {
    pip(['--no-deps', src]); // else pip fetches setuptools for an isolated build
  }
} finally {
  rmSync(src, { recursive: true, force: true });
}

// 2. the dependencies, for Python 3.10 (wheels only)
pip([
  '--only-binary=:all:',
  '--python-version', '3.10',
  '--implementation', 'cp',
  '--platform', 'manylinux2014_x86_64',
  '--platform', 'any',
  ...DEPENDENCIES,
]);

// 3. pure Python only
let removed = 0;
walk(libs, (p, name) => {
  if (/\.(so|pyd|dylib)$/.test(name) || /\.so\./.test(name)) {
    rmSync(p);
    removed++;
  }
});
rmSync(join(libs, 'bin'), { recursive: true, force: true });
console.log(`removed ${removed} compiled extension(s)`);

// check: the bundle imports with no site-packages at all
const probe = [
  'import sys',
  `sys.path.insert(0, ${JSON.stringify(libs)})`,
  'import yaml, ruamel.yaml, pygls, lsprotocol, cattrs, attrs',
  'import arcgraph.lsp.server, arcgraph.cli',
  'assert arcgraph.__file__.startswith(sys.path[0]), arcgraph.__file__',
  "print('bundled/libs ok:', sorted(n for n in __import__('os').listdir(sys.path[0]) if not n.endswith('-info')))",
].join('\n');
execFileSync(python, ['-S', '-c', probe], { stdio: 'inherit' });
