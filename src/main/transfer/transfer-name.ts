// The names a transfer may give its file: one plain file name inside the
// receiving directory, nothing that could reach outside it or collide with
// the receiver's own bookkeeping. Checked on both sides: the sender refuses
// to offer such a name, the receiver refuses a request carrying one.
//
// A name is refused when it is empty or longer than MAX_NAME_BYTES of UTF-8;
// contains a NUL, a control character, '/' or '\' (no directories: an
// absolute path or '../x' can only be spelled with a separator); is '.' or
// '..'; starts with '.' (the receiver's partial files and manifests are
// '.<name>.partial' and '.<name>.manifest', and hidden names are where they
// live); or ends with ' ' or '.' (which Windows strips, so two names would
// be one file there).

/** Longest name in UTF-8 bytes: the usual file-name limit of 255 less the receiver's '.' and '.manifest'. */
export const MAX_NAME_BYTES = 240;

/** Why `name` is refused, or null when it is a valid transfer name. */
export function transferNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'not a string';
  if (name.length === 0) return 'empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `longer than ${MAX_NAME_BYTES} bytes`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0) return 'contains NUL';
    if (c < 0x20 || c === 0x7f) return 'contains a control character';
    if (c === 0x2f || c === 0x5c) return 'contains a path separator';
  }
  if (name === '.' || name === '..') return 'is a relative directory';
  if (name.startsWith('.')) return "starts with '.'";
  if (name.endsWith(' ') || name.endsWith('.')) return "ends with ' ' or '.'";
  return null;
}

/** The receiver's in-progress file for `name`. */
export function partialName(name: string): string {
  return `.${name}.partial`;
}

/** The manifest beside the partial file. */
export function manifestName(name: string): string {
  return `.${name}.manifest`;
}
