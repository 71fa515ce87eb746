// Bad input: what every check of flags, files and the environment throws before anything is
// created; the CLI prints its one line and exits 2.
export class UsageError extends Error {
  override name = 'UsageError';
}
