// A folder chosen in the launch form, packed as an uncompressed tar (ustar) for
// POST /uploads/directory. The files' bytes are never read here: the archive is a
// Blob made of each 512-byte header, the File itself and its padding, so the browser
// streams them. The server unpacks it (refusing links, absolute names and '..').

export interface TarEntry {
  path: string; // relative, '/'-separated
  size: number;
  data: Blob;
}

const BLOCK = 512;
const encoder = new TextEncoder();

function put(header: Uint8Array, text: string, at: number, width: number): void {
  const bytes = encoder.encode(text);
  if (bytes.length > width) throw new Error(`'${text}' is too long for a tar header field`);
  header.set(bytes, at);
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0");
}

/** Where a path goes in a ustar header: (name of at most 100 bytes, prefix of at most
 * 155); an Error for a path that does not fit. */
export function splitPath(path: string): [string, string] {
  if (encoder.encode(path).length <= 100) return [path, ""];
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100) return [name, prefix];
  }
  throw new Error(`the path '${path}' is too long to upload (a tar header holds 255 bytes)`);
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(path: string, size: number): Uint8Array {
  const header = new Uint8Array(BLOCK);
  const [name, prefix] = splitPath(path);
  put(header, name, 0, 100);
  put(header, "0000644", 100, 8); // mode
  put(header, "0000000", 108, 8); // uid
  put(header, "0000000", 116, 8); // gid
  put(header, octal(size, 12), 124, 12);
  put(header, octal(0, 12), 136, 12); // mtime
  header.fill(0x20, 148, 156); // the checksum counts as spaces while it is summed
  header[156] = 0x30; // '0': a regular file
  put(header, "ustar", 257, 6);
  put(header, "00", 263, 2);
  put(header, prefix, 345, 155);
  const sum = header.reduce((a, b) => a + b, 0);
  put(header, `${octal(sum, 7)}\0 `, 148, 8);
  return header;
}

/** The parts of a tar of ``entries``: header, data and padding each, then the two
 * zero blocks that end it. ``new Blob(parts)`` is the archive. */
export function tarParts(entries: TarEntry[]): (Uint8Array | Blob)[] {
  const parts: (Uint8Array | Blob)[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e.path, e.size), e.data);
    const pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return parts;
}

/** A folder picked with ``<input webkitdirectory>``: its name and its files' paths
 * inside it (each File's ``webkitRelativePath`` less the folder's own name). */
export function folderEntries(files: ArrayLike<File>): { name: string; entries: TarEntry[] } {
  const list = Array.from(files);
  const relative = list.map((f) => (f.webkitRelativePath || f.name).split("/"));
  const name = relative[0] && relative[0].length > 1 ? (relative[0][0] ?? "directory") : "directory";
  const entries = list.map((f, i) => {
    const parts = relative[i] ?? [f.name];
    const path = parts.length > 1 && parts[0] === name ? parts.slice(1).join("/") : parts.join("/");
    return { path, size: f.size, data: f };
  });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { name, entries };
}

/** The format POST /uploads/directory is told for an archive, by its file name; and
 * the Directory's name (the file name without that extension). */
export function archiveFormat(fileName: string): { format: "tar" | "tgz" | "zip"; name: string } | null {
  const lower = fileName.toLowerCase();
  for (const [ext, format] of [[".tar.gz", "tgz"], [".tgz", "tgz"], [".tar", "tar"], [".zip", "zip"]] as const) {
    if (lower.endsWith(ext) && fileName.length > ext.length) return { format, name: fileName.slice(0, -ext.length) };
  }
  return null;
}
