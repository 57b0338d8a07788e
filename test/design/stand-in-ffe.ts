/**
 * TEST-ONLY stand-in for the FFE core (generator/ffe), obeying the stream contract of generator/contract/stream.ts: pointwise
 * (1x1, stride 1, no pad, one group) conv layers only, written behaviourally with `*` and one register
 * stage per layer with AXI-Stream backpressure. It lets the manifest, writer, testbenches and the verify
 * runner be tested on their own; the real core is tested end to end in test/ffe-e2e.
 */
import { beatWidth, streamOfTensor, type Stream } from '../../generator/contract/stream.js';
import type { CoreDesign, CoreLayer, FfeCore } from '../../generator/design/core.js';
import { NO_COST, type LayerCost } from '../../generator/ffe/index.js';
import { NameScope, renderHeader } from '../../generator/emit/index.js';
import type { ManifestPort } from '../../generator/design/manifest.js';
import { streamPortMeanings } from '../../generator/contract/stream.js';
import type { QConvLayer, QuantizedGraph } from '../../generator/quant/ir.js';

function formatOf(graph: QuantizedGraph, tensor: string): Stream {
  const t = graph.tensors[tensor];
  if (!t) throw new Error(`stand-in: no tensor ${tensor}`);
  return streamOfTensor(t);
}

/** A rough stand-in figure (the stand-in's Verilog is not built with the DSL, so no cost model runs). */
function standInCost(adders: number, registerBits: number): LayerCost {
  return { ...NO_COST, adders, productAdders: adders, registerBits, adderDepth: 1 };
}

/** The stand-in's modules have exactly the stream contract's ports, in this order (layerModule, topModule). */
function streamPorts(input: Stream, output: Stream): ManifestPort[] {
  const meaning = streamPortMeanings(input, output);
  const p = (name: string, direction: 'input' | 'output', width = 1): ManifestPort => ({ name, direction, width, meaning: meaning[name] ?? '' });
  return [
    p('clk', 'input'), p('rst', 'input'),
    p('s_tvalid', 'input'), p('s_tready', 'output'), p('s_tdata', 'input', beatWidth(input)), p('s_tuser', 'input'), p('s_tlast', 'input'),
    p('m_tvalid', 'output'), p('m_tready', 'input'), p('m_tdata', 'output', beatWidth(output)), p('m_tuser', 'output'), p('m_tlast', 'output'),
  ];
}

/** A 64-bit signed literal (negative values as a negated positive literal). */
function lit(v: number): string {
  return v < 0 ? `(-64'sd${-v})` : `64'sd${v}`;
}

/** Channel c of a packed stream as a 64-bit signed wire declaration. */
function lane(name: string, c: number, f: Stream): string {
  const { bits, signed } = f.type;
  const hi = (c + 1) * bits - 1;
  const fill = signed ? `{${64 - bits}{${name}[${hi}]}}` : `${64 - bits}'d0`;
  return `  wire signed [63:0] x${c} = {${fill}, ${name}[${hi}:${c * bits}]};`;
}

function layerModule(module: string, layer: QConvLayer, input: Stream, output: Stream, bug?: { channel: number }): string {
  const [m, n] = layer.weightShape;
  const channelLines: string[] = Array.from({ length: n }, (_, c) => lane('s_tdata', c, input));
  for (let o = 0; o < m; o++) {
    const terms = [lit(layer.bias[o] ?? 0)];
    for (let c = 0; c < n; c++) {
      const w = layer.weights[o * n + c] ?? 0;
      if (w !== 0) terms.push(`${lit(w)} * (x${c} - ${lit(layer.inputZeroPoint)})`);
    }
    const s = layer.requant.shift[o] ?? 1;
    const mult = layer.requant.multiplier[o] ?? 0;
    const bugTerm = bug?.channel === o;
    channelLines.push(
      `  wire signed [63:0] acc${o} = ${terms.join(' + ')};`,
      `  wire signed [63:0] p${o} = acc${o} * ${lit(mult)} + ${lit(2 ** (s - 1))};`,
      `  wire signed [63:0] r${o} = (p${o} >>> ${s}) + ${lit(layer.requant.outputZeroPoint)}${bugTerm ? ` + 64'sd1` : ''};`,
      `  wire signed [63:0] q${o} = r${o} < ${lit(layer.requant.clampMin)} ? ${lit(layer.requant.clampMin)} : (r${o} > ${lit(layer.requant.clampMax)} ? ${lit(layer.requant.clampMax)} : r${o});`,
    );
  }
  const packed = Array.from({ length: m }, (_, o) => `q${m - 1 - o}[${output.type.bits - 1}:0]`).join(', ');
  return `module ${module} (
  input wire clk, input wire rst,
  input wire s_tvalid, output wire s_tready, input wire [${beatWidth(input) - 1}:0] s_tdata, input wire s_tuser, input wire s_tlast,
  output reg m_tvalid, input wire m_tready, output reg [${beatWidth(output) - 1}:0] m_tdata, output reg m_tuser, output reg m_tlast
);
${channelLines.join('\n')}
  assign s_tready = m_tready || !m_tvalid;
  always @(posedge clk) begin
    if (rst) m_tvalid <= 1'b0;
    else if (s_tready) begin
      m_tvalid <= s_tvalid;
      m_tdata <= {${packed}};
      m_tuser <= s_tuser;
      m_tlast <= s_tlast;
    end
  end
endmodule
`;
}

function topModule(top: string, layers: readonly CoreLayer[], input: Stream): string {
  const widthOf = beatWidth;
  const wires: string[] = [];
  const instances: string[] = [];
  let prev = { valid: 's_tvalid', ready: 's_tready', data: 's_tdata', user: 's_tuser', last: 's_tlast' };
  layers.forEach((l, i) => {
    const isLast = i === layers.length - 1;
    const sig = isLast
      ? { valid: 'm_tvalid', ready: 'm_tready', data: 'm_tdata', user: 'm_tuser', last: 'm_tlast' }
      : { valid: `l${i}_valid`, ready: `l${i}_ready`, data: `l${i}_data`, user: `l${i}_user`, last: `l${i}_last` };
    if (!isLast) wires.push(`  wire ${sig.valid}, ${sig.ready}, ${sig.user}, ${sig.last};`, `  wire [${widthOf(l.out) - 1}:0] ${sig.data};`);
    instances.push(`  ${l.module} u${i} (.clk(clk), .rst(rst), .s_tvalid(${prev.valid}), .s_tready(${prev.ready}), .s_tdata(${prev.data}), .s_tuser(${prev.user}), .s_tlast(${prev.last}),
    .m_tvalid(${sig.valid}), .m_tready(${sig.ready}), .m_tdata(${sig.data}), .m_tuser(${sig.user}), .m_tlast(${sig.last}));`);
    prev = sig;
  });
  const out = layers[layers.length - 1]?.out as Stream;
  return `module ${top} (
  input wire clk, input wire rst,
  input wire s_tvalid, output wire s_tready, input wire [${widthOf(input) - 1}:0] s_tdata, input wire s_tuser, input wire s_tlast,
  output wire m_tvalid, input wire m_tready, output wire [${widthOf(out) - 1}:0] m_tdata, output wire m_tuser, output wire m_tlast
);
${wires.join('\n')}
${instances.join('\n')}
endmodule
`;
}

/** The stand-in core; `bug` makes one layer's channel off by one (to test mismatch reports). */
export function standInFfe(bug?: { layer: number; channel: number }): FfeCore {
  return (graph, k, options): CoreDesign => {
    const names = new NameScope();
    const top = names.claim(`ffe_${graph.source.file.replace(/\.onnx$/, '')}`);
    const header = renderHeader(options.header);
    const layers: CoreLayer[] = [];
    const files: Array<{ name: string; text: string }> = [];
    for (const layer of graph.layers.slice(0, k)) {
      if (layer.kind !== 'conv' || layer.kernel.join() !== '1,1' || layer.stride.join() !== '1,1' || layer.pads.some((p) => p !== 0) || layer.group !== 1) {
        throw new Error(`stand-in FFE: only pointwise convolutions (layer ${layer.index} is ${layer.kind})`);
      }
      const module = names.claim(`${top}_${layer.name}`);
      const out = formatOf(graph, layer.output);
      const input = formatOf(graph, layer.inputs[0] as string);
      files.push({ name: `${module}.v`, text: `${header}${layerModule(module, layer, input, out, bug?.layer === layer.index ? bug : undefined)}` });
      layers.push({
        index: layer.index, name: layer.name, kind: 'pointwise', module, out, tap: names.claim(`tap_${layer.name}`), latencyCycles: 1,
        // The top instantiates layer i as u<i> (topModule): its output beats pass when m_tvalid and m_tready are 1.
        probe: { valid: [`u${layers.length}.m_tvalid`, `u${layers.length}.m_tready`], data: `u${layers.length}.m_tdata` },
        cost: standInCost(layer.weights.filter((w) => w !== 0).length, beatWidth(out)),
      });
    }
    const input = formatOf(graph, graph.input.tensor);
    files.push({ name: `${top}.v`, text: `${header}${topModule(top, layers, input)}` });
    const last = layers[layers.length - 1] as CoreLayer;
    const cost = layers.reduce((c, l) => standInCost(c.adders + l.cost.adders, c.registerBits + l.cost.registerBits), standInCost(0, 0));
    const modules = layers.map((l, i) => ({ name: l.module, ports: streamPorts(i === 0 ? input : layers[i - 1]!.out, l.out) }));
    return { top, ports: streamPorts(input, last.out), modules, files, input, output: last.out, layers, cost, glueCost: standInCost(0, 0), latencyCycles: k, idealCyclesPerFrame: input.height * input.width, graph };
  };
}
