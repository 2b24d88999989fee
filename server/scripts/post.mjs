// One POST /v2/contacts/bulk through Node's own `http` client, the whole body written before
// the answer is read (`req.end(body)`). Prints one JSON line: status, Retry-After, Connection
// and body — or the error the client raised (EPIPE, ECONNRESET) instead.
//
//   node server/scripts/post.mjs HOST:PORT KEY CONTENT-TYPE BYTES
import http from "node:http";

const [addr, key, contentType, bytes] = process.argv.slice(2);
const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), addr.slice(addr.lastIndexOf(":") + 1)];
const size = Number(bytes);
const body = Buffer.alloc(size, 0x20);
Buffer.from('{"contacts":[]').copy(body);
body[size - 1] = 0x7d; // '}'
const headers = { "Content-Type": contentType, "Content-Length": size };
if (key) headers["X-Api-Key"] = key;
let printed = false;
const print = (result) => {
  if (!printed) console.log(JSON.stringify(result));
  printed = true;
};
const request = http.request({ host, port, path: "/v2/contacts/bulk", method: "POST", headers }, (reply) => {
  const chunks = [];
  reply.on("data", (chunk) => chunks.push(chunk));
  reply.on("end", () => {
    print({
      status: reply.statusCode,
      retry_after: reply.headers["retry-after"] ?? null,
      connection: reply.headers["connection"] ?? null,
      body: Buffer.concat(chunks).toString(),
    });
  });
});
request.on("error", (error) => print({ error: error.code ?? String(error) }));
request.end(body);
