import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { type Call, jsonResponse, launches, renderLaunch, stubLaunchApi, workflowVersion } from "./testkit";
import { collect, fieldsOf, prefilled } from "./form";

// Files as uploads in the launch form: a File input's chosen file is uploaded at once
// (POST /uploads, the file as the body) and the input is sent as its artifact:<hash>.
let calls: Call[] = [];
let uploadAnswer: { status: number; body: unknown };
const HASH = "ab".repeat(32);

const entity = workflowVersion("wf.lines", { f: { kind: "file" }, n: { kind: "int" } }, { n: 1 }, "team");

beforeEach(() => {
  uploadAnswer = { status: 201, body: { hash: HASH, name: "data.csv", size: 12, format: "file", ref: `artifact:${HASH}` } };
  window.history.replaceState(null, "", "/launch");
  calls = stubLaunchApi([entity], {
    route: (url) => (url.pathname === "/api/v1/uploads" ? jsonResponse(uploadAnswer.body, uploadAnswer.status) : undefined),
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const wrap = () => renderLaunch("wf.lines", "team");

describe("a File input of the launch form", () => {
  it("is required, and is parsed as the text it holds", () => {
    const fields = fieldsOf(entity.interface.inputs, entity.interface.defaults);
    expect(fields.map((f) => `${f.name}:${f.widget}`)).toEqual(["f:file", "n:int"]);
    expect(collect(fields, {})).toEqual({ ok: false, errors: { f: "f is required" } });
    expect(collect(fields, { f: `artifact:${HASH}` })).toEqual({ ok: true, inputs: { f: `artifact:${HASH}`, n: 1 } });
    // a relaunch gives the earlier run's stored file again, by its digest
    const record = { type: { kind: "file" }, hash: HASH, size: 12, uri: "ab/cd", format: "file", pickled: false };
    expect(prefilled(fields, { f: record, n: 3 })).toEqual({ f: `artifact:${HASH}`, n: "3" });
  });

  it("uploads the chosen file, then launches with its artifact reference", async () => {
    wrap();
    const chooser = await screen.findByLabelText("upload a file for f");
    const file = new File(["a,b\n1,2\n3,4\n"], "data.csv", { type: "text/csv" });
    fireEvent.change(chooser, { target: { files: [file] } });
    expect(await screen.findByText(`data.csv uploaded: 12 bytes, sha256 ${HASH.slice(0, 12)}`)).toBeTruthy();
    const upload = calls.find((c) => c.method === "POST" && c.path.startsWith("/api/v1/uploads"));
    expect(upload?.path).toBe("/api/v1/uploads?name=data.csv&project=team");
    expect(upload?.body).toBe(file); // the file itself, streamed by the browser
    expect((screen.getByLabelText(/^f/) as HTMLInputElement).value).toBe(`artifact:${HASH}`);
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(window.location.pathname).toBe("/executions/e-new"));
    expect(launches(calls)[0]).toMatchObject({ name: "wf.lines", inputs: { f: `artifact:${HASH}` } });
  });

  it("says why an upload was refused, and sends no launch", async () => {
    uploadAnswer = { status: 413, body: { error: "the upload 'big.bin' is larger than the server's limit of 8 bytes; nothing was stored" } };
    wrap();
    fireEvent.change(await screen.findByLabelText("upload a file for f"), {
      target: { files: [new File(["0123456789"], "big.bin")] },
    });
    expect((await screen.findByText(/Upload refused/)).textContent).toContain("larger than the server's limit of 8 bytes");
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    expect(await screen.findByText("f is required")).toBeTruthy();
    expect(launches(calls)).toEqual([]);
  });
});
