import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { type Call, jsonResponse, launches, renderLaunch, stubLaunchApi, workflowVersion } from "./testkit";
import { fieldsOf } from "./form";
import { archiveFormat, folderEntries, splitPath, tarHeader, tarParts } from "./tar";

// Directory inputs in the launch form: a chosen folder is packed as a tar here (its
// files' bytes never read: the archive is a Blob of headers and the Files), an archive
// is sent as it is; POST /uploads/directory answers the artifact:<hash> to launch with.
let calls: Call[] = [];
const HASH = "cd".repeat(32);

const entity = workflowVersion("wf.tree", { d: { kind: "directory" } }, {}, "team");

beforeEach(() => {
  window.history.replaceState(null, "", "/launch");
  calls = stubLaunchApi([entity], {
    route: (url) =>
      url.pathname === "/api/v1/uploads/directory"
        ? jsonResponse({ hash: HASH, name: url.searchParams.get("name"), size: 3072, format: "dir", ref: `artifact:${HASH}` }, 201)
        : undefined,
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const wrap = () => renderLaunch("wf.tree", "team");

function inFolder(path: string, text: string): File {
  const file = new File([text], path.split("/").pop() ?? path);
  Object.defineProperty(file, "webkitRelativePath", { value: path });
  return file;
}

const ascii = (bytes: Uint8Array, at: number, width: number) =>
  new TextDecoder().decode(bytes.slice(at, at + width)).replace(/\0.*$/s, "");

describe("a folder as a tar", () => {
  it("writes ustar headers with a valid checksum, the size in octal and long paths split", () => {
    const h = tarHeader("sub/b.txt", 4);
    expect(h.length).toBe(512);
    expect(ascii(h, 0, 100)).toBe("sub/b.txt");
    expect(ascii(h, 124, 12)).toBe("00000000004");
    expect(ascii(h, 257, 6)).toBe("ustar");
    expect(String.fromCharCode(h[156] ?? 0)).toBe("0");
    const stored = parseInt(ascii(h, 148, 8), 8);
    const summed = h.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 32 : b), 0);
    expect(stored).toBe(summed);
    const long = `${"a".repeat(80)}/${"b".repeat(90)}.txt`;
    expect(splitPath(long)).toEqual([`${"b".repeat(90)}.txt`, "a".repeat(80)]);
    expect(() => splitPath("c".repeat(300))).toThrow("too long");
  });

  it("pads each file to 512 bytes and ends with two zero blocks; paths are inside the folder", async () => {
    const { name, entries } = folderEntries([inFolder("data/sub/b.txt", "beta"), inFolder("data/a.txt", "alpha")]);
    expect(name).toBe("data");
    expect(entries.map((e) => `${e.path}:${e.size}`)).toEqual(["a.txt:5", "sub/b.txt:4"]);
    const parts = tarParts(entries);
    const size = parts.reduce((n, p) => n + (p instanceof Uint8Array ? p.length : p.size), 0);
    expect(size).toBe(512 * 6); // two headers, two padded files, the end
  });

  it("knows an archive's format and the Directory's name by its file name", () => {
    expect(archiveFormat("data.zip")).toEqual({ format: "zip", name: "data" });
    expect(archiveFormat("Data.TAR.GZ")).toEqual({ format: "tgz", name: "Data" });
    expect(archiveFormat("x.tgz")).toEqual({ format: "tgz", name: "x" });
    expect(archiveFormat("x.tar")).toEqual({ format: "tar", name: "x" });
    expect(archiveFormat("notes.txt")).toBeNull();
    expect(archiveFormat(".zip")).toBeNull();
  });
});

describe("a Directory input of the launch form", () => {
  it("is an upload field", () => {
    const fields = fieldsOf(entity.interface.inputs, {});
    expect(fields.map((f) => `${f.name}:${f.widget}`)).toEqual(["d:file"]);
  });

  it("packs a chosen folder as a tar, uploads it, then launches with its reference", async () => {
    wrap();
    const chooser = await screen.findByLabelText("upload a folder for d");
    expect(chooser.hasAttribute("webkitdirectory")).toBe(true);
    fireEvent.change(chooser, { target: { files: [inFolder("data/a.txt", "alpha"), inFolder("data/sub/b.txt", "beta")] } });
    expect(await screen.findByText(`data uploaded: 3072 bytes, sha256 ${HASH.slice(0, 12)}`)).toBeTruthy();
    const upload = calls.find((c) => c.method === "POST" && c.path.startsWith("/api/v1/uploads/directory"));
    expect(upload?.path).toBe("/api/v1/uploads/directory?name=data&format=tar&project=team");
    expect((upload?.body as Blob).size).toBe(512 * 6);
    expect((screen.getByLabelText(/^d/, { selector: "input[type=text]" }) as HTMLInputElement).value).toBe(`artifact:${HASH}`);
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(window.location.pathname).toBe("/executions/e-new"));
    expect(launches(calls)[0]).toMatchObject({ name: "wf.tree", inputs: { d: `artifact:${HASH}` } });
  });

  it("sends an archive as it is, and refuses a file that is not one with no request", async () => {
    wrap();
    const chooser = await screen.findByLabelText("upload an archive (zip, tar, tar.gz) for d");
    fireEvent.change(chooser, { target: { files: [new File(["x"], "notes.txt")] } });
    expect(await screen.findByText(/'notes.txt' is not a .zip, .tar, .tar.gz or .tgz archive/)).toBeTruthy();
    expect(calls.some((c) => c.path.startsWith("/api/v1/uploads"))).toBe(false);
    const zip = new File(["PK"], "data.zip");
    fireEvent.change(chooser, { target: { files: [zip] } });
    expect(await screen.findByText(`data uploaded: 3072 bytes, sha256 ${HASH.slice(0, 12)}`)).toBeTruthy();
    const upload = calls.find((c) => c.path.startsWith("/api/v1/uploads/directory"));
    expect(upload?.path).toBe("/api/v1/uploads/directory?name=data&format=zip&project=team");
    expect(upload?.body).toBe(zip);
    expect(screen.queryByText(/is not a .zip/)).toBeNull();
  });
});
