// The Node flags the engine's workers start with. A Worker given execArgv
// takes its flags from that list alone, so the list is the parent's flags
// (--enable-source-maps, --import hooks and the like reach the workers)
// without those a worker refuses: V8 and per-process flags such as
// --max-old-space-size, --stack-size or --perf-basic-prof, which throw
// ERR_WORKER_INVALID_EXEC_ARGV and would stop every process started with
// them from having an engine (process-wide, they apply to workers anyway).
//
// Where Node has require(esm), it is turned off in the workers: Piscina
// loads a task module with require() first and import() when that throws;
// our task module is ESM, and Node 20's synchronous require of an ES module
// can abort the process ("IsGraphAsync must be used on an instantiated
// module") when workers start under load. Without it the require() fails at
// once and the module is imported.
//
// Which flags a worker refuses is known only from the error a Worker throws
// when it is constructed (before any thread starts): the flags it names are
// dropped, with a value given as the next argument, and the worker tried
// again; the list that worked is kept for every later pool.

/** The flags for workers: the parent's, with require(esm) off where Node has it. */
let workerFlags: readonly string[] = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')
  ? [...process.execArgv, '--no-experimental-require-module']
  : [...process.execArgv];

/**
 * Builds something that starts workers with `execArgv` (a Piscina pool),
 * dropping the flags a worker refuses until it starts.
 */
export function withWorkerFlags<T>(start: (execArgv: string[]) => T): T {
  const started = startWithFlags(workerFlags, start);
  workerFlags = started.flags;
  return started.value;
}

/** `start(flags)`, again without the flags a worker refused each time it throws so; the value and the flags that worked. */
export function startWithFlags<T>(flags: readonly string[], start: (execArgv: string[]) => T): { value: T; flags: readonly string[] } {
  for (;;) {
    try {
      return { value: start([...flags]), flags };
    } catch (error) {
      const refused = refusedFlags(error);
      const fewer = refused === null ? flags : withoutFlags(flags, refused);
      if (fewer.length === flags.length) throw error; // nothing named that is ours to drop
      flags = fewer;
    }
  }
}

/** The flags an ERR_WORKER_INVALID_EXEC_ARGV names; null for any other error. */
export function refusedFlags(error: unknown): string[] | null {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return null;
  const message = String((error as Error).message);
  const at = message.indexOf(': ');
  if (at < 0) return [];
  return message
    .slice(at + 2)
    .split(', ')
    .map((f) => f.trim())
    .filter((f) => f.startsWith('-'));
}

/** `argv` without the flags named (as given, or by name when given as `--flag=value`), nor a value that follows one as its own argument. */
export function withoutFlags(argv: readonly string[], refused: readonly string[]): string[] {
  const names = new Set(refused.map((f) => f.split('=')[0]));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || !names.has(arg.split('=')[0])) {
      out.push(arg);
      continue;
    }
    if (!arg.includes('=') && i + 1 < argv.length && !argv[i + 1].startsWith('-')) i++; // its value
  }
  return out;
}
