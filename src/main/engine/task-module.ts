// Where the engine's worker module is. Workers run plain Node, so they load
// the compiled module: beside this file once compiled (dist/src/workers/),
// and from dist/ too when this file runs from its TypeScript source (tests),
// which needs `npm run build` first.
export function engineTaskModule(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? '../../../dist/src/workers/engine-tasks.js' : '../../workers/engine-tasks.js', import.meta.url).href;
}
