#!/usr/bin/env python3
"""One POST /v2/contacts/bulk through a real Python client, as an SDK sends it: the whole body
written before the answer is read. Prints one JSON line: the status, the Retry-After and
Connection headers and the body — or the exception the client raised instead (a broken pipe
or a reset is what a server that closes early, without draining the body, gives these
clients).

    python3 server/scripts/post.py HOST:PORT [--client http.client|requests] [--key KEY]
        [--content-type TYPE] [--bytes N | --file PATH] [--chunked] [--idempotency-key K]

`--bytes N`: a body of N bytes (a JSON object padded with spaces, so a server that reads it
whole sees valid JSON without contacts). `http.client` is the standard library's; `requests`
must be installed (server/scripts/real_clients.sh pins it in a virtualenv).
"""
import argparse
import json
import sys

KEY = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"


def padded(size):
    return b'{"contacts":[]' + b" " * max(0, size - 15) + b"}"


def post(addr, body, headers, client="http.client", chunked=False, timeout=60):
    """The answer as a dict, or {"error": name} when the client raised."""
    host, port = addr.rsplit(":", 1)
    if chunked:
        data = (body[i:i + 65536] for i in range(0, len(body), 65536))
    else:
        data = body
    try:
        if client == "requests":
            import requests
            reply = requests.post("http://%s/v2/contacts/bulk" % addr, data=data,
                                  headers=headers, timeout=timeout)
            status, text, get = reply.status_code, reply.text, reply.headers.get
        else:
            import http.client
            connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
            connection.request("POST", "/v2/contacts/bulk", body=data, headers=headers,
                               encode_chunked=chunked)
            reply = connection.getresponse()
            status, text, get = reply.status, reply.read().decode(), reply.getheader
            connection.close()
        return {"status": status, "retry_after": get("Retry-After"),
                "connection": get("Connection"), "body": text}
    except Exception as error:  # noqa: BLE001 - the client's failure is the result
        return {"error": type(error).__name__, "detail": str(error)[:200]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("addr")
    parser.add_argument("--client", default="http.client", choices=["http.client", "requests"])
    parser.add_argument("--key", default=KEY)
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--bytes", type=int, default=4_000_000)
    parser.add_argument("--file")
    parser.add_argument("--chunked", action="store_true")
    parser.add_argument("--idempotency-key")
    args = parser.parse_args()
    if args.file:
        with open(args.file, "rb") as f:
            body = f.read()
    else:
        body = padded(args.bytes)
    headers = {"Content-Type": args.content_type}
    if args.key:
        headers["X-Api-Key"] = args.key
    if args.idempotency_key:
        headers["Idempotency-Key"] = args.idempotency_key
    print(json.dumps(post(args.addr, body, headers, args.client, args.chunked)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
