/** Runs a command's code with stdout/stderr silenced: tests assert the figures instead of printing them. */
export async function quietly<T>(body: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await body();
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}
