// fixynn: AXI4 protocol checker for testbenches (Verilog-2005, Icarus and `verilator --binary`).
// Watches one AXI4 master's AR, R, AW, W and B channels and stops the simulation with a message at the
// first violation, so a testbench fails the run instead of computing on a broken transfer. It checks the
// AXI4 handshake rules (a VALID, once high, stays high with a stable payload until its READY; no X on a
// VALID after reset), the burst rules (INCR only in fixynn's subset, AxSIZE equal to the bus width,
// addresses aligned to it, no burst crossing a 4 KB boundary, WLAST exactly on a burst's last beat),
// and fixynn's subset on top (full write strobes, no write data before its address).
// docs/accel-rtl.md ("AXI4 master") documents the subset.
module fixynn_axi4_checker #(
  parameter DATA_BYTES = 16,
  parameter MAX_BURSTS = 256
) (
  input wire clk,
  input wire rst,
  input wire arvalid, input wire arready, input wire [31:0] araddr, input wire [7:0] arlen,
  input wire [2:0] arsize, input wire [1:0] arburst,
  input wire rvalid, input wire rready, input wire rlast,
  input wire awvalid, input wire awready, input wire [31:0] awaddr, input wire [7:0] awlen,
  input wire [2:0] awsize, input wire [1:0] awburst,
  input wire wvalid, input wire wready, input wire [8*DATA_BYTES-1:0] wdata, input wire [DATA_BYTES-1:0] wstrb,
  input wire wlast,
  input wire bvalid, input wire bready,
  output reg failed
);
  // The payload of each channel in the previous clock, to compare while VALID waits for READY.
  reg p_arvalid, p_arready, p_awvalid, p_awready, p_wvalid, p_wready;
  reg [31:0] p_araddr, p_awaddr;
  reg [7:0] p_arlen, p_awlen;
  reg [2:0] p_arsize, p_awsize;
  reg [1:0] p_arburst, p_awburst;
  reg [8*DATA_BYTES-1:0] p_wdata;
  reg [DATA_BYTES-1:0] p_wstrb;
  reg p_wlast;
  reg started;
  // Write bursts whose address was taken, in order: their beat counts, for WLAST.
  reg [8:0] aw_beats [0:MAX_BURSTS-1];
  integer aw_head, aw_tail, aw_count, w_beat, size_log2, reads_open, writes_open, last_seen;
  reg [4095:0] msg;

  initial begin
    failed = 1'b0;
    started = 1'b0;
    aw_head = 0; aw_tail = 0; aw_count = 0; w_beat = 0; reads_open = 0; writes_open = 0;
    size_log2 = 0;
    while ((1 << size_log2) < DATA_BYTES) size_log2 = size_log2 + 1;
  end

  task fail;
    input [4095:0] text;
    begin
      if (!failed) $display("AXI4 violation at %0t: %0s", $time, text);
      failed = 1'b1;
    end
  endtask

  // A burst's address phase: INCR, full-width beats, aligned, inside one 4 KB page.
  task check_burst;
    input [8*8-1:0] ch;
    input [31:0] addr;
    input [7:0] len;
    input [2:0] size;
    input [1:0] burst;
    begin
      if (burst !== 2'b01) begin $sformat(msg, "%0s: burst type %0d, the subset has INCR (1) only", ch, burst); fail(msg); end
      if (size !== size_log2) begin $sformat(msg, "%0s: AxSIZE %0d, the bus needs %0d (full-width beats)", ch, size, size_log2); fail(msg); end
      if ((addr % DATA_BYTES) != 0) begin $sformat(msg, "%0s: address %h not aligned to %0d bytes", ch, addr, DATA_BYTES); fail(msg); end
      if ((addr % 4096) + (len + 1) * DATA_BYTES > 4096) begin
        $sformat(msg, "%0s: burst at %h of %0d beats crosses a 4 KB boundary", ch, addr, len + 1); fail(msg);
      end
    end
  endtask

  always @(posedge clk) begin
    if (rst) begin
      started <= 1'b1;
      p_arvalid <= 1'b0; p_awvalid <= 1'b0; p_wvalid <= 1'b0;
    end else if (started) begin
      if (arvalid === 1'bx || awvalid === 1'bx || wvalid === 1'bx || rready === 1'bx || bready === 1'bx)
        fail("a VALID or READY of the master is X after reset");
      // Handshake rules: VALID held and payload stable until READY.
      if (p_arvalid && !p_arready) begin
        if (!arvalid) fail("AR: ARVALID dropped before ARREADY");
        else if (araddr !== p_araddr || arlen !== p_arlen || arsize !== p_arsize || arburst !== p_arburst) fail("AR: payload changed while ARVALID waited for ARREADY");
      end
      if (p_awvalid && !p_awready) begin
        if (!awvalid) fail("AW: AWVALID dropped before AWREADY");
        else if (awaddr !== p_awaddr || awlen !== p_awlen || awsize !== p_awsize || awburst !== p_awburst) fail("AW: payload changed while AWVALID waited for AWREADY");
      end
      if (p_wvalid && !p_wready) begin
        if (!wvalid) fail("W: WVALID dropped before WREADY");
        else if (wdata !== p_wdata || wstrb !== p_wstrb || wlast !== p_wlast) fail("W: payload changed while WVALID waited for WREADY");
      end
      // Burst rules at each address handshake.
      if (arvalid && arready) begin
        check_burst("AR", araddr, arlen, arsize, arburst);
        reads_open = reads_open + 1;
      end
      if (rvalid && rready && rlast) reads_open = reads_open - 1;
      if (awvalid && awready) begin
        check_burst("AW", awaddr, awlen, awsize, awburst);
        if (aw_count == MAX_BURSTS) fail("AW: more write bursts open than the checker tracks");
        else begin
          aw_beats[aw_tail] = awlen + 1;
          aw_tail = (aw_tail + 1) % MAX_BURSTS;
          aw_count = aw_count + 1;
        end
      end
      // WLAST on exactly the last beat of the oldest burst whose address was taken.
      if (wvalid && wready) begin
        if (wstrb !== {DATA_BYTES{1'b1}}) fail("W: a partial write strobe (the subset writes full beats)");
        if (aw_count == 0) fail("W: write data before its burst's address (outside the subset)");
        else begin
          last_seen = (w_beat + 1 == aw_beats[aw_head]);
          if (wlast !== last_seen[0]) begin
            $sformat(msg, "W: WLAST %0d on beat %0d of a %0d-beat burst", wlast, w_beat + 1, aw_beats[aw_head]); fail(msg);
          end
          if (last_seen[0]) begin
            w_beat = 0;
            aw_head = (aw_head + 1) % MAX_BURSTS;
            aw_count = aw_count - 1;
            writes_open = writes_open + 1;
          end else w_beat = w_beat + 1;
        end
      end
      if (bvalid && bready) begin
        if (writes_open == 0) fail("B: a write response before its burst's last data beat");
        else writes_open = writes_open - 1;
      end
      if (reads_open < 0) fail("R: more RLAST beats than read bursts");
      p_arvalid <= arvalid; p_arready <= arready; p_araddr <= araddr; p_arlen <= arlen; p_arsize <= arsize; p_arburst <= arburst;
      p_awvalid <= awvalid; p_awready <= awready; p_awaddr <= awaddr; p_awlen <= awlen; p_awsize <= awsize; p_awburst <= awburst;
      p_wvalid <= wvalid; p_wready <= wready; p_wdata <= wdata; p_wstrb <= wstrb; p_wlast <= wlast;
    end
  end
endmodule
