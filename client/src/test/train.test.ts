import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import {
  csvHeadText,
  curvesPath,
  dataFormatsOf,
  dataGlob,
  dialogExtensions,
  isParquet,
  modelInfo,
  nameAffinity,
  orderDataFiles,
  orderTargetColumns,
  parseCsvHeader,
  parseTrainResult,
  progressText,
  splitCsvRecord,
  trainArguments,
  parseProcessCount,
  processCountError,
  trainRefusal,
  trainerModelRef,
  trainResultMessage,
  unavailableDevice,
} from '../logic/train';

// what the server sends at initialize (tests/lsp/test_train.py checks the server's side)
const FORMATS = dataFormatsOf({ arcgraph: { dataFiles: { csv: ['.csv', '.csv.gz', '.tsv'], parquet: ['.parquet', '.pq'] } } });

describe('data formats from the server', () => {
  it('are read from the initialize result', () => {
    assert.deepEqual(FORMATS, { csv: ['.csv', '.csv.gz', '.tsv'], parquet: ['.parquet', '.pq'] });
    // a server that sent none (or something else): nothing is searched for
    for (const experimental of [undefined, null, {}, { arcgraph: { dataFiles: { csv: 'csv', parquet: [3, 'pq'] } } }]) {
      assert.deepEqual(dataFormatsOf(experimental), { csv: [], parquet: [] });
    }
  });
  it('make the workspace search and the open dialog filter', () => {
    assert.equal(dataGlob(FORMATS), '**/*.{csv,csv.gz,tsv,parquet,pq}');
    assert.equal(dataGlob({ csv: ['.csv'], parquet: [] }), '**/*.csv');
    assert.equal(dataGlob(dataFormatsOf(undefined)), undefined);
    assert.deepEqual(dialogExtensions(FORMATS), ['csv', 'gz', 'tsv', 'parquet', 'pq']);
  });
  it('a gzipped CSV header is read from its first bytes', () => {
    const rows = ['sepal length,species', ...Array.from({ length: 5000 }, (_, i) => `${i}.5,setosa`)].join('\n');
    const gz = zlib.gzipSync(Buffer.from(rows));
    const head = gz.subarray(0, Math.floor(gz.length / 2)); // as read: the first bytes only
    assert.ok(csvHeadText(head, '/d/iris.csv.gz').startsWith('sepal length,species\n0.5,setosa\n'));
    assert.equal(csvHeadText(Buffer.from('a,b\n1,2\n'), '/d/x.csv'), 'a,b\n1,2\n');
  });
});

describe('CSV header', () => {
  it('plain, CRLF and BOM', () => {
    assert.deepEqual(parseCsvHeader('a,b,c\n1,2,3\n'), ['a', 'b', 'c']);
    assert.deepEqual(parseCsvHeader('\uFEFFx, y ,z\r\n1,2,3'), ['x', 'y', 'z']);
    assert.deepEqual(parseCsvHeader('only'), ['only']);
    assert.deepEqual(parseCsvHeader(''), []);
  });
  it('quoted fields with commas, quotes and newlines', () => {
    assert.deepEqual(parseCsvHeader('"a,1","say ""hi""","multi\nline",d\n1,2,3,4'), ['a,1', 'say "hi"', 'multi\nline', 'd']);
  });
  it('semicolons and tabs', () => {
    assert.deepEqual(parseCsvHeader('a;b;c\n'), ['a', 'b', 'c']);
    assert.deepEqual(parseCsvHeader('a\tb\n'), ['a', 'b']);
    assert.deepEqual(splitCsvRecord('a|b', '|'), ['a', 'b']);
  });
  it('the real breast cancer header', () => {
    const cols = parseCsvHeader('mean_radius,mean_texture,diagnosis\n17.99,10.38,0\n');
    assert.equal(cols[cols.length - 1], 'diagnosis');
  });
});

describe('data file order', () => {
  const files = ['/ws/data/iris.csv', '/ws/data/breast_cancer.csv', '/ws/data/diabetes.csv', '/ws/other/a.parquet'];
  it('files sharing the trainer name come first', () => {
    assert.equal(nameAffinity('/ws/trainers/breast-cancer.trainer.yaml', '/ws/data/breast_cancer.csv'), 2);
    assert.deepEqual(orderDataFiles(files, '/ws/trainers/breast-cancer.trainer.yaml'), [
      '/ws/data/breast_cancer.csv',
      '/ws/data/diabetes.csv',
      '/ws/data/iris.csv',
      '/ws/other/a.parquet',
    ]);
  });
  it('the model id counts too', () => {
    assert.equal(orderDataFiles(files, '/ws/t/quick.trainer.yaml', undefined, 'iris-classifier-v1')[0], '/ws/data/iris.csv');
  });
  it('the remembered file comes first', () => {
    assert.equal(orderDataFiles(files, '/ws/trainers/breast-cancer.trainer.yaml', '/ws/data/iris.csv')[0], '/ws/data/iris.csv');
  });
  it('parquet detection', () => {
    assert.ok(isParquet('/a/b.parquet', FORMATS));
    assert.ok(isParquet('/a/b.PQ', FORMATS));
    assert.ok(!isParquet('/a/b.csv', FORMATS));
    assert.ok(!isParquet('/a/b.parquet', dataFormatsOf(undefined)));
  });
});

describe('model and trainer specs', () => {
  const model = [
    'inputs:',
    '  features:',
    '    dtype: float32',
    '    columns: [a, b]',
    'graph: []',
    'loss:',
    '  type: torch.nn.functional.mse_loss',
    '  inputs: {input: prediction, target: y}',
  ].join('\n');
  it('reads loss target and input columns', () => {
    assert.deepEqual(modelInfo(model), { lossTarget: 'y', inputColumns: ['a', 'b'] });
  });
  it('survives broken YAML', () => {
    assert.deepEqual(modelInfo('loss: [\n'), { inputColumns: [] });
    assert.deepEqual(modelInfo(''), { inputColumns: [] });
  });
  it('reads model_ref', () => {
    assert.equal(trainerModelRef('# c\nmodel_ref: breast-cancer-mlp-v1\noptimizer: {type: torch.optim.Adam}\n'), 'breast-cancer-mlp-v1');
    assert.equal(trainerModelRef('model_ref: [1]\n'), undefined);
    assert.equal(trainerModelRef(''), undefined);
  });
});

describe('target column order', () => {
  const info = { lossTarget: 'diagnosis', inputColumns: ['x1', 'x2'] };
  it('loss target first, then non-inputs, then inputs', () => {
    assert.deepEqual(orderTargetColumns(['x1', 'id', 'x2', 'diagnosis', 'label'], info), ['diagnosis', 'id', 'label', 'x1', 'x2']);
  });
  it('remembered beats the loss target', () => {
    assert.deepEqual(orderTargetColumns(['x1', 'label', 'diagnosis'], info, 'label'), ['label', 'diagnosis', 'x1']);
  });
  it('a loss target missing from the file is not invented', () => {
    assert.deepEqual(orderTargetColumns(['b', 'a'], { lossTarget: 'z', inputColumns: [] }), ['b', 'a']);
  });
});

describe('train request and result', () => {
  it('builds the one argument', () => {
    assert.deepEqual(trainArguments('file:///ws/t.trainer.yaml', '/ws/d.csv', 'y'), {
      trainer: 'file:///ws/t.trainer.yaml',
      data: '/ws/d.csv',
      target: 'y',
    });
    assert.throws(() => trainArguments('file:///t', 'rel/d.csv', 'y'), /absolute/);
    assert.throws(() => trainArguments('file:///t', '/d.csv', ''), /target/);
  });
  it('parses the result', () => {
    const r = parseTrainResult({ run_dir: '/ws/runs/m/1', best_metric: 0.08123, monitor: 'val_loss', status: 'completed' });
    assert.deepEqual(r, { runDir: '/ws/runs/m/1', bestMetric: 0.08123, monitor: 'val_loss', status: 'completed' });
    assert.equal(trainResultMessage(r, 'm'), 'Arc-Graph: trained m (completed): best val_loss 0.0812.');
    const early = parseTrainResult({ run_dir: '/r', best_metric: 0.1086, monitor: 'val_loss', status: 'early_stopped' });
    assert.equal(trainResultMessage(early, 'm'), 'Arc-Graph: trained m (stopped early): best val_loss 0.1086.');
    const stopped = parseTrainResult({ run_dir: '/r', status: 'interrupted', error: 'checkpoint saved to /r/c.pt' });
    assert.equal(trainResultMessage(stopped, 'm'), 'Arc-Graph: training of m interrupted: no best metric (checkpoint saved to /r/c.pt).');
    const failed = parseTrainResult({ run_dir: '/r', best_metric: null, status: 'diverged' });
    assert.equal(trainResultMessage(failed, 'm'), 'Arc-Graph: training of m diverged: no best metric.');
    assert.equal(parseTrainResult({ run_dir: '/r', best_metric: null }).bestMetric, null);
    assert.throws(() => parseTrainResult(null), /no result/);
    assert.throws(() => parseTrainResult({ best_metric: 1 }), /run_dir/);
  });
  it('recognises a refusal', () => {
    assert.equal(trainRefusal({ status: 'refused', error: 'no data file' }), 'no data file');
    assert.equal(trainRefusal({ status: 'error' }), 'error');
    assert.equal(trainRefusal({ status: 'completed', run_dir: '/r' }), undefined);
    assert.equal(trainRefusal(null), undefined);
  });
  it('curves file', () => {
    assert.equal(curvesPath('/r/run/'), '/r/run/loss.png');
  });
  it('progress text', () => {
    assert.equal(progressText({ kind: 'report', message: 'epoch 3/30', percentage: 10 }, 'Training'), 'Training: epoch 3/30 10%');
  });
});

describe('the process count', () => {
  it('passes more than one process as processes (the server adds --nproc-per-node)', () => {
    assert.deepEqual(trainArguments('file:///w/t.trainer.yaml', '/w/iris.csv', 'species', [], 2), {
      trainer: 'file:///w/t.trainer.yaml',
      data: '/w/iris.csv',
      target: 'species',
      processes: 2,
    });
    // one process, the default: the arguments are what they were
    assert.deepEqual(trainArguments('file:///w/t.trainer.yaml', '/w/iris.csv', 'species', [], 1), {
      trainer: 'file:///w/t.trainer.yaml',
      data: '/w/iris.csv',
      target: 'species',
    });
    assert.throws(() => trainArguments('file:///t', '/d.csv', 'y', [], 0), /whole number >= 1: 0/);
  });
  it('reads what was typed', () => {
    assert.equal(parseProcessCount(' 4 '), 4);
    assert.equal(parseProcessCount('1'), 1);
    assert.equal(parseProcessCount('0'), undefined);
    assert.equal(parseProcessCount('2.5'), undefined);
    assert.equal(parseProcessCount('two'), undefined);
    assert.equal(processCountError('3'), undefined);
    assert.equal(processCountError('-1'), 'a whole number of processes, 1 or more (1: no distribution)');
  });
});

describe('a device that is not available', () => {
  it('is read from the trainer refusal, to offer the CPU', () => {
    // the trainer's words (server/arcgraph/training/device.py; tests/lsp/test_train_overrides.py)
    assert.equal(unavailableDevice("config.device is 'cuda' but no CUDA device is available to torch"), 'cuda');
    assert.equal(unavailableDevice("config.device is 'mps' but the MPS backend is not available to torch"), 'mps');
    assert.equal(unavailableDevice("config.device must be auto, cpu, cuda or mps, got 'gpu'"), undefined);
    assert.equal(unavailableDevice('the specs have 1 error; not training'), undefined);
  });
  it('makes the retry pass --set config.device=cpu', () => {
    assert.deepEqual(trainArguments('file:///w/t.trainer.yaml', '/w/iris.csv', 'species', ['config.device=cpu']), {
      trainer: 'file:///w/t.trainer.yaml',
      data: '/w/iris.csv',
      target: 'species',
      overrides: ['config.device=cpu'],
    });
    // no overrides: the arguments are what they were
    assert.deepEqual(trainArguments('file:///w/t.trainer.yaml', '/w/iris.csv', 'species'), {
      trainer: 'file:///w/t.trainer.yaml',
      data: '/w/iris.csv',
      target: 'species',
    });
  });
});
