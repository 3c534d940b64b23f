// The graph view's webview script (bundled by esbuild into media/graphView.js with elkjs: it
// loads nothing from the network). Lays the model out left to right with ELK's layered
// algorithm, draws boxes as HTML and edges as SVG, and talks to the extension by messages:
// a click on a box asks the editor to reveal its line; the editor's cursor highlights boxes.
import ELK from 'elkjs/lib/elk.bundled.js';
import {
  type ElkEdge,
  type ElkNode,
  type GraphNode,
  type ModelGraph,
  type ToView,
  GROUP_HEADER,
  elkInput,
  nodeLines,
  nodesAtLine,
  shapeText,
} from '../logic/graphView';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const elk = new ELK();
const canvas = document.getElementById('canvas') as HTMLDivElement;
const status = document.getElementById('status') as HTMLDivElement;
const SVG = 'http://www.w3.org/2000/svg';

let graph: ModelGraph | undefined;
const expanded = new Set<string>();
let cursorLine: number | undefined;
let drawing = 0; // the newest draw: an older layout finishing later is dropped

window.addEventListener('message', (event: MessageEvent<ToView>) => {
  const message = event.data;
  if (message.type === 'graph') {
    graph = message.graph;
    void draw();
  } else if (message.type === 'highlight') {
    cursorLine = message.line;
    highlight();
  } else if (message.type === 'error') {
    status.textContent = message.message;
  }
});

async function draw(): Promise<void> {
  const g = graph;
  if (!g) {
    return;
  }
  const mine = ++drawing;
  const laid = (await elk.layout(elkInput(g, expanded) as never)) as unknown as ElkNode;
  if (mine !== drawing) {
    return;
  }
  const nodes = new Map(g.nodes.map((n) => [n.id, n]));
  canvas.replaceChildren();
  canvas.style.width = `${(laid.width ?? 0) + 16}px`;
  canvas.style.height = `${(laid.height ?? 0) + 16}px`;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'edges');
  svg.setAttribute('width', String((laid.width ?? 0) + 16));
  svg.setAttribute('height', String((laid.height ?? 0) + 16));
  svg.innerHTML =
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>';
  const offsets = new Map<string, { x: number; y: number }>();
  const place = (node: ElkNode, ox: number, oy: number) => {
    const x = ox + (node.x ?? 0);
    const y = oy + (node.y ?? 0);
    offsets.set(node.id, { x, y });
    if (node.id !== 'root') {
      canvas.appendChild(box(node, x, y, g, nodes.get(node.id)));
    }
    for (const child of node.children ?? []) {
      place(child, x, y);
    }
  };
  place(laid, 8, 8);
  const drawEdges = (node: ElkNode) => {
    for (const edge of node.edges ?? []) {
      const at = offsets.get(edge.container ?? node.id) ?? { x: 8, y: 8 };
      drawEdge(svg, edge, at.x, at.y);
    }
    for (const child of node.children ?? []) {
      drawEdges(child);
    }
  };
  drawEdges(laid);
  canvas.prepend(svg);
  status.textContent = '';
  document.body.dataset.rendered = String(g.version ?? 0);
  highlight();
}

function box(node: ElkNode, x: number, y: number, g: ModelGraph, info: GraphNode | undefined): HTMLElement {
  const el = document.createElement('div');
  el.style.left = `${x}px`;
  el.style.top = `${y}px`;
  el.style.width = `${node.width ?? 0}px`;
  el.style.height = `${node.height ?? 0}px`;
  el.dataset.id = node.id;
  const input = g.inputs.find((i) => i.id === node.id);
  const output = g.outputs.find((o) => o.id === node.id);
  const group = g.groups.find((gr) => gr.id === node.id);
  let lines: string[];
  let line: number | undefined;
  if (info) {
    el.className = 'node';
    lines = nodeLines(info);
    line = info.line;
    el.dataset.name = info.name;
    if (info.severity !== null) {
      el.classList.add(`severity-${info.severity}`);
    }
  } else if (input) {
    el.className = 'node input';
    lines = [input.name, input.shape ? shapeText(input.shape) : 'input'];
    line = input.line;
  } else {
    el.className = 'node output';
    lines = [output?.name ?? node.id, 'output'];
    line = output?.line;
  }
  if (line !== undefined) {
    el.dataset.line = String(line);
    el.addEventListener('click', (event) => {
      event.stopPropagation();
      vscode.postMessage({ type: 'reveal', line });
    });
  }
  const open = group !== undefined && expanded.has(node.id);
  if (open) {
    el.classList.add('group');
  }
  lines.forEach((text, i) => {
    if (open && i > 0) {
      return; // an open group shows its title only; its nodes are inside
    }
    const span = document.createElement('div');
    span.className = i === 0 ? 'title' : 'detail';
    span.textContent = text;
    el.appendChild(span);
  });
  if (group) {
    const toggle = document.createElement('button');
    toggle.className = 'toggle';
    const what = group.kind === 'stack' ? `${group.module} × ${group.count ?? '?'}` : group.module;
    toggle.textContent = open ? `▾ ${what}` : `▸ ${what}`;
    toggle.title = open ? 'Collapse' : 'Expand';
    toggle.addEventListener('click', (event) => {
      event.stopPropagation();
      if (expanded.has(node.id)) {
        expanded.delete(node.id);
      } else {
        expanded.add(node.id);
      }
      void draw();
    });
    el.appendChild(toggle);
    if (open) {
      el.style.minHeight = `${GROUP_HEADER}px`;
    }
  }
  return el;
}

function drawEdge(svg: SVGSVGElement, edge: ElkEdge, ox: number, oy: number): void {
  for (const section of edge.sections ?? []) {
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', points.map((p, i) => `${i ? 'L' : 'M'} ${p.x + ox} ${p.y + oy}`).join(' '));
    path.setAttribute('marker-end', 'url(#arrow)');
    svg.appendChild(path);
  }
  for (const label of edge.labels ?? []) {
    const text = document.createElementNS(SVG, 'text');
    text.setAttribute('x', String((label.x ?? 0) + ox));
    text.setAttribute('y', String((label.y ?? 0) + oy + 12));
    text.textContent = label.text;
    svg.appendChild(text);
  }
}

function highlight(): void {
  const ids = graph && cursorLine !== undefined ? new Set(nodesAtLine(graph, cursorLine, expanded)) : new Set<string>();
  let first: HTMLElement | undefined;
  for (const el of canvas.querySelectorAll<HTMLElement>('.node')) {
    const on = ids.has(el.dataset.id ?? '');
    el.classList.toggle('selected', on);
    first = first ?? (on ? el : undefined);
  }
  first?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

vscode.postMessage({ type: 'ready' });
