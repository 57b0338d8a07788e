/**
 * The SRAM macros' simulation model (verify/synth/sram-sim.ts, templates/synth-sram-sim.v.hbs): a memory
 * written as the accelerator's RTL writes its RAMs (synchronous write, registered reads, one read port with an
 * enable) goes through the ASIC script's macro steps in Yosys (`synth -run :fine`, chtype $__fixynn_sram,
 * `synth -run fine:`); its netlist with the model runs in Icarus beside the RTL on random accesses and must
 * read the same words every cycle, and the model's counters must equal the accesses made.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJsonModule } from '../../verify/synth/netlist.js';
import { MACRO_CELL, macroInstances, sramSimModel } from '../../verify/synth/sram-sim.js';
import { runTool } from '../../verify/sim/tools.js';
import { macroAccessPj } from '../../verify/synth/sram-model.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-sram-sim-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const RTL = `
module ram (input clk, input we, input [5:0] wa, input [15:0] wd, input [5:0] ra, input [5:0] rb, input re_b,
            output reg [15:0] qa, output reg [15:0] qb);
  reg [15:0] words [0:63];
  always @(posedge clk) begin
    if (we) words[wa] <= wd;
  end
  always @(posedge clk) begin
    qa <= words[ra];
  end
  always @(posedge clk) begin
    if (re_b) qb <= words[rb];
  end
endmodule
`;

const CYCLES = 400;

function testbench(macroPath: string): string {
  return `
\`timescale 1ns/1ps
module tb;
  reg clk = 0, we = 0, re_b = 0;
  reg [5:0] wa = 0, ra = 0, rb = 0;
  reg [15:0] wd = 0;
  wire [15:0] qa, qb, ga, gb;
  ram ref (.clk(clk), .we(we), .wa(wa), .wd(wd), .ra(ra), .rb(rb), .re_b(re_b), .qa(qa), .qb(qb));
  ram_gl gl (.clk(clk), .we(we), .wa(wa), .wd(wd), .ra(ra), .rb(rb), .re_b(re_b), .qa(ga), .qb(gb));
  always #5 clk = ~clk;
  integer i, bad = 0, writes = 0, reads = 0;
  initial begin
    // Every word written once first, then random writes and reads (same-address collisions included).
    for (i = 0; i < 64; i = i + 1) begin
      we <= 1; wa <= i; wd <= $random; re_b <= 0;
      @(posedge clk); writes = writes + 1; reads = reads + 1;
    end
    for (i = 0; i < ${CYCLES}; i = i + 1) begin
      we <= $random; wa <= $random; wd <= $random; ra <= $random; rb <= ($random & 1) ? wa : $random; re_b <= $random;
      @(posedge clk);
      if (we) writes = writes + 1;
      reads = reads + 1 + re_b;
      @(negedge clk);
      if (qa !== ga || qb !== gb) bad = bad + 1;
    end
    $display("mismatches %0d reads %0d %0d writes %0d %0d", bad, reads, ${macroPath}.reads, writes, ${macroPath}.writes);
    $finish;
  end
endmodule
`;
}

describe('the SRAM macro simulation model', () => {
  it('reads as the RTL memory it replaced, cycle by cycle, and counts its reads and writes', async () => {
    writeFileSync(path.join(work, 'ram.v'), RTL);
    const script = [
      `read_verilog ${path.join(work, 'ram.v')}`,
      'synth -flatten -top ram -run :fine',
      `chtype -set ${MACRO_CELL} c:words`,
      'setparam -unset INIT c:words',
      'synth -flatten -top ram -run fine:',
      'rename ram ram_gl',
      `write_verilog -noattr ${path.join(work, 'ram_gl.v')}`,
      `write_json ${path.join(work, 'ram_gl.json')}`,
    ].join('; ');
    const y = await runTool('yosys', ['-q', '-p', script], { cwd: work });
    expect(y.exitCode, y.stderr).toBe(0);
    const m = readJsonModule(path.join(work, 'ram_gl.json'), 'ram_gl');
    const [macro, ...rest] = macroInstances('ram_gl', m);
    expect(rest).toEqual([]);
    expect(macro).toMatchObject({ words: 64, width: 16, readPorts: 2, writePorts: 1, accessPj: macroAccessPj(16) });
    expect(readFileSync(path.join(work, 'ram_gl.v'), 'utf8')).toContain(`\\${MACRO_CELL} `);
    writeFileSync(path.join(work, 'model.v'), sramSimModel());
    const name = /^[A-Za-z_]\w*$/.test(macro!.cell) ? macro!.cell : `\\${macro!.cell} `;
    writeFileSync(path.join(work, 'tb.v'), testbench(`gl.${name}`));
    const c = await runTool('iverilog', ['-g2005', '-s', 'tb', '-o', path.join(work, 'tb.vvp'), 'tb.v', 'model.v', 'ram_gl.v', 'ram.v'], { cwd: work });
    expect(c.exitCode, c.stderr + c.stdout).toBe(0);
    const r = await runTool('vvp', ['-n', path.join(work, 'tb.vvp')], { cwd: work });
    const line = /mismatches (\d+) reads (\d+) (\d+) writes (\d+) (\d+)/.exec(r.stdout);
    expect(line, r.stdout + r.stderr).not.toBeNull();
    const [, bad, reads, modelReads, writes, modelWrites] = line!.map(Number);
    expect(bad).toBe(0);
    expect(writes).toBeGreaterThan(64 + CYCLES / 4);
    expect(modelWrites).toBe(writes);
    expect(modelReads).toBe(reads);
  }, 60_000);

  it('refuses a macro it does not model (an asynchronous read port)', () => {
    const cell = { type: MACRO_CELL, connections: {}, parameters: { SIZE: 16, WIDTH: 8, RD_PORTS: 1, WR_PORTS: 1, RD_CLK_ENABLE: '0', WR_CLK_ENABLE: '1', RD_TRANSPARENCY_MASK: '0', RD_WIDE_CONTINUATION: '0', WR_WIDE_CONTINUATION: '0' } };
    expect(() => macroInstances('m', { ports: {}, cells: { mem: cell }, netnames: {} } as never)).toThrow(/SRAM macro mem: .*RD_CLK_ENABLE/);
  });
});
