/**
 * Legal, unique, readable Verilog identifiers from arbitrary strings (ONNX node and tensor names may be
 * anything: keywords, punctuation, unicode, hundreds of characters, duplicates). Escaped identifiers
 * (`\foo `) are legal Verilog but break tools and scripts, so we never use them.
 */
import { createHash } from 'node:crypto';

/** Longest identifier we emit; longer names keep a readable prefix plus a hash of the whole name. */
export const MAX_IDENTIFIER_LENGTH = 64;

/** Verilog-2005 and SystemVerilog keywords (Verilator and Yosys read both), and Verilog system names. */
const VERILOG_KEYWORDS = `always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign
default defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule
endprimitive endspecify endtable endtask event for force forever fork function generate genvar highz0
highz1 if ifnone incdir include initial inout input instance integer join large liblist library
localparam macromodule medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output
parameter pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect
rcmos real realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed
small specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1
triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
alias always_comb always_ff always_latch assert assume before bind bins binsof bit break byte chandle
checker class clocking const constraint context continue cover covergroup coverpoint cross dist do
endchecker endclass endclocking endgroup endinterface endpackage endprogram endproperty endsequence
enum expect export extends extern final first_match foreach forkjoin global iff ignore_bins
illegal_bins implements import inside int interconnect interface intersect join_any join_none let
local logic longint matches modport nettype new null package packed priority program property
protected pure rand randc randcase randsequence ref restrict return s_always s_eventually s_nexttime
s_until s_until_with sequence shortint shortreal soft solve static string strong struct super
sync_accept_on sync_reject_on tagged this throughout timeprecision timeunit type typedef union unique
unique0 until until_with untyped var virtual void wait_order weak wildcard with within accept_on
eventually nexttime reject_on restrict`;

/** C++ keywords: Verilator turns each signal into a C++ member and warns (SYMRSVDWORD) on these. */
const CPP_KEYWORDS = `alignas alignof asm auto bool catch char char8_t char16_t char32_t concept consteval constexpr
constinit const_cast co_await co_return co_yield decltype delete double dynamic_cast explicit false float
friend goto inline long mutable namespace noexcept nullptr operator private public register
reinterpret_cast requires short sizeof static_assert static_cast switch template thread_local throw
true try typeid typename using volatile wchar_t signed unsigned NULL errno`;

const RESERVED = new Set([...VERILOG_KEYWORDS.split(/\s+/), ...CPP_KEYWORDS.split(/\s+/)].filter((w) => w !== ''));

/** True when `name` may be used as is: plain identifier syntax, not a keyword, not too long. */
export function isLegalIdentifier(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && !name.includes('__') && !name.endsWith('_') && !RESERVED.has(name) && !RESERVED.has(name.toLowerCase()) && name.length <= MAX_IDENTIFIER_LENGTH;
}

/**
 * A legal Verilog identifier that reads like `raw`: accents dropped (é -> e), other characters become
 * `_`, a leading digit or underscore gets an `n` prefix, a keyword gets a `_v` suffix, over-long names
 * are cut and tagged with a hash of the full name. Not unique by itself: use NameScope for that.
 */
export function verilogIdentifier(raw: string): string {
  const ascii = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  let name = ascii
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') name = 'n';
  if (/^[0-9]/.test(name)) name = `n${name}`;
  if (RESERVED.has(name) || RESERVED.has(name.toLowerCase())) name = `${name}_v`;
  if (name.length > MAX_IDENTIFIER_LENGTH) {
    const tag = createHash('sha256').update(raw).digest('hex').slice(0, 8);
    name = `${name.slice(0, MAX_IDENTIFIER_LENGTH - tag.length - 1).replace(/_+$/, '')}_${tag}`;
  }
  return name;
}

/**
 * One namespace (a module's signals, or a design's module names): each raw name gets a legal identifier
 * not used before in this scope; duplicates get _2, _3, ... Deterministic: the same sequence of claims
 * gives the same names.
 */
export class NameScope {
  private readonly used = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();

  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.used.add(r.toLowerCase());
  }

  /** A fresh identifier for `raw`. Case-insensitive uniqueness keeps file names distinct on any disk. */
  claim(raw: string): string {
    const base = verilogIdentifier(raw);
    let candidate = base;
    // Suffixes below the last one handed out for this base are taken already: start after it (many
    // temporaries share a base, e.g. `y_add`, and a search from _2 each time would be quadratic).
    let n = this.nextSuffix.get(base.toLowerCase()) ?? 2;
    while (this.used.has(candidate.toLowerCase())) {
      const suffix = `_${n++}`;
      candidate = `${base.slice(0, MAX_IDENTIFIER_LENGTH - suffix.length)}${suffix}`;
    }
    this.nextSuffix.set(base.toLowerCase(), n);
    this.used.add(candidate.toLowerCase());
    return candidate;
  }

  has(name: string): boolean {
    return this.used.has(name.toLowerCase());
  }
}
