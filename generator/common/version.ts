import { readFileSync } from 'node:fs';

/** The package version, named in every generated file's header. */
export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
