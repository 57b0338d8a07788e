/** The Verilog printer and the identifier legalizer. See verilog.ts for how widths are kept exact. */
export { emitDesign, type EmittedDesign, type EmittedFile, type EmittedModule, type EmittedPort } from './verilog.js';
export { renderHeader, type HeaderInfo } from './header.js';
export { verilogIdentifier, isLegalIdentifier, NameScope, MAX_IDENTIFIER_LENGTH } from './identifiers.js';
export { fileList, writeDesign } from './files.js';
