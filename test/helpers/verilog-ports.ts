/**
 * The ports of a module as its Verilog text declares them (ANSI-style header, as fixynn emits): what a
 * synthesis tool or a user's instantiation sees, read independently of the generator's own records.
 */
export interface VerilogPort {
  readonly name: string;
  readonly direction: 'input' | 'output';
  readonly width: number;
}

export function verilogPorts(text: string, module: string): VerilogPort[] {
  const header = new RegExp(`^module\\s+${module}\\s*\\(([^;]*?)\\);`, 'm').exec(text);
  if (header === null) throw new Error(`no module ${module} with an ANSI port list`);
  return (header[1] ?? '')
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, '').trim().replace(/,$/, ''))
    .filter((line) => line !== '')
    .map((line) => {
      const m = /^(input|output)\s+(?:wire|reg)?\s*(?:signed\s*)?(?:\[(\d+):(\d+)\]\s*)?([A-Za-z_][A-Za-z0-9_$]*)$/.exec(line);
      if (m === null) throw new Error(`module ${module}: cannot read the port declaration '${line}'`);
      return { name: m[4]!, direction: m[1] as 'input' | 'output', width: m[2] === undefined ? 1 : Number(m[2]) - Number(m[3]) + 1 };
    });
}
