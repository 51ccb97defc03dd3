"""A fault-injecting web server for the reliability matrix, run in its own process:

    python -m tests.support.faultserver [--robots ok|404|503|timeout|delay:N] [--corpus DIR]

prints `<base URL> <canary URL>` on its first line, then serves on 127.0.0.1 (port 0) until killed. The canary
is a second listener that only counts hits (`GET /_canary` on the main server returns the count): whatever
the crawl was tricked into requesting there shows up. Endpoints (reliability guide, section 3):

    /robots.txt                 by --robots (ok, 404, 503, a timeout, or Crawl-delay: N)
    /feed.xml?links=a,b         an RSS feed of those paths (comma-separated, URL-encoded), dated today
    /a/<n>                      the n-th real corpus page (pages.jsonl), read in place
    /status/<code>?retry_after=N
    /delay/<seconds>/a/<n>      a corpus page, late
    /drop  /partial             a connection closed before any answer / mid-body
    /gzipbomb                   100 MiB of zeros, gzip-encoded (~100 KB on the wire)
    /big?mb=N                   N MiB of HTML (with Content-Length, or chunked with &chunked=1)
    /bin/<name>                 PNG bytes, whatever the name says
    /redirect?to=URL  /refresh?to=URL  /loop/a  /chain/<n>
    /xml/bomb  /xml/xxe         a billion-laughs feed; a feed with external entities at the canary
    /sitemap/urls?n=N&lastmod=D a sitemap of N URLs (paths /never/<i>), each with that <lastmod>
    /sitemap/big?mb=N           a sitemap of N MiB (with Content-Length, or chunked with &chunked=1)
    /sitemap/bomb.xml.gz        350 KB of gzip inflating to a 100 MiB sitemap (&encoded=1: as Content-Encoding)
    /sitemap/self.xml           a sitemap index that lists itself
    /sitemap/chain/<n>.xml      a sitemap index that lists /sitemap/chain/<n+1>.xml: a chain that never ends
    /sitemap/wide.xml?n=N       a sitemap index of N indexes, each of them this one again (&child=i)
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import re
import socket
import sys
import threading
import time
import zlib
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

SHARED_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


class _State:
    canary_hits = 0
    lock = threading.Lock()
    sitemap_bombs: dict[str, bytes] = {}  # noqa: RUF012 - made once, on first request


def _gzip_bomb(size: int = 100 * 1024 * 1024) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    chunk = b"\0" * (1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()


def _sitemap_entries(base: str, start: int, count: int, lastmod: str) -> bytes:
    return "".join(
        f"<url><loc>{base}/never/{i}</loc><lastmod>{lastmod}</lastmod></url>" for i in range(start, start + count)
    ).encode()


_URLSET = b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'


def _sitemap_index(locations: list[str]) -> bytes:
    """A sitemap index of those (XML-escaped) locations."""
    entries = "".join(f"<sitemap><loc>{location}</loc></sitemap>" for location in locations)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{entries}</sitemapindex>"
    ).encode()


def _sitemap_bomb(base: str, size: int = 100 * 1024 * 1024) -> bytes:
    """A gzip file inflating to a `size`-byte sitemap (one entry, repeated: about 300 to 1)."""
    block = _sitemap_entries(base, 0, 1, "2001-01-01") * 10_000
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(_URLSET)]
    parts += [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.compress(b"</urlset>") + compressor.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--robots", default="ok")
    parser.add_argument("--corpus", default=str(SHARED_CORPUS))
    args = parser.parse_args()
    corpus = Path(args.corpus)
    pages = [json.loads(line) for line in (corpus / "pages.jsonl").read_text().splitlines()]
    bomb = _gzip_bomb()

    class Canary(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            with _State.lock:
                _State.canary_hits += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"hi")

        do_POST = do_HEAD = do_GET  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    canary = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    canary.daemon_threads = True
    canary_url = f"http://127.0.0.1:{canary.server_address[1]}"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802, C901 - one dispatch table
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            path = parts.path
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if path == "/_canary":
                return self._send(200, json.dumps({"hits": _State.canary_hits}).encode(), "application/json")
            if path == "/robots.txt":
                return self._robots(base)
            if path == "/feed.xml":
                links = [unquote(link) for link in query.get("links", "").split(",") if link]
                if "long" in query:  # a link longer than any feed URL could carry in its query
                    links.append("/a/6?" + "x" * int(query["long"]))
                return self._send(200, _feed(base, links), "application/rss+xml")
            if path.startswith("/a/"):
                return self._page(int(path.split("/")[2]))
            if path.startswith("/enc/"):  # /enc/<mode>/<n>: the n-th corpus page in another encoding
                _, _, mode, index = path.split("/")
                return self._encoded(mode, int(index))
            if path.startswith("/html/nul/"):  # NUL bytes scattered through a real page
                raw = (corpus / pages[int(path.split("/")[3])]["file"]).read_bytes()
                return self._send(200, b"\0".join(raw[i : i + 5000] for i in range(0, len(raw), 5000)))
            if path == "/html/deep":  # 100,000 nested <div>s around a real article's text
                raw = (corpus / pages[0]["file"]).read_bytes()
                return self._send(200, b"<html><body>" + b"<div>" * 100_000 + raw + b"</div>" * 100_000)
            if path == "/html/hugenode":  # one 12 MB text node (under DOWNLOAD_MAXSIZE, which stops 20 MB: B5)
                return self._send(200, b"<html><body><p>" + b"word " * 2_400_000 + b"</p></body></html>")
            if path.startswith("/html/colspan/"):  # a real page with a table claiming 999,999,999 columns
                raw = (corpus / pages[int(path.split("/")[3])]["file"]).read_bytes()
                table = b'<table><tr><td colspan="999999999" rowspan="999999999">x</td></tr></table>'
                return self._send(200, raw.replace(b"<body", table + b"<body", 1) if b"<body" in raw else table + raw)
            if path == "/html/random":
                return self._send(200, random.Random(7).randbytes(200_000))
            if path.startswith("/html/unclosed/"):  # a real page cut in the middle, every tag left open
                raw = (corpus / pages[int(path.split("/")[3])]["file"]).read_bytes()
                return self._send(200, raw[: len(raw) * 2 // 3])
            if path.startswith("/gzip-raw/"):  # gzip bytes served as text/html without Content-Encoding
                raw = (corpus / pages[int(path.split("/")[2])]["file"]).read_bytes()
                return self._send(200, gzip.compress(raw))
            if path.startswith("/status/"):
                headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
                return self._send(int(path.split("/")[2]), b"<html><body>status</body></html>", headers=headers)
            if path.startswith("/delay/"):
                time.sleep(float(path.split("/")[2]))
                return self._page(int(path.split("/")[4]))
            if path == "/drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            if path == "/partial":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"<html><body><p>" + b"cut short " * 500)
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            if path == "/gzipbomb":
                return self._send(200, bomb, "text/html", headers={"Content-Encoding": "gzip"})
            if path == "/big":
                return self._big(float(query.get("mb", "50")), query.get("chunked") == "1")
            if path.startswith("/bin/"):
                return self._send(200, PNG, "image/png")
            if path == "/redirect":
                return self._send(302, b"", headers={"Location": query["to"]})
            if path == "/refresh":
                target = query["to"].replace('"', "%22")
                body = f'<html><head><meta http-equiv="refresh" content="0;url={target}"></head></html>'.encode()
                return self._send(200, body)
            if path in ("/loop/a", "/loop/b"):
                return self._send(302, b"", headers={"Location": "/loop/b" if path == "/loop/a" else "/loop/a"})
            if path.startswith("/chain/"):
                left = int(path.split("/")[2])
                return self._send(302, b"", headers={"Location": f"/chain/{left - 1}" if left > 0 else "/a/0"})
            if path == "/sitemap/urls":
                count, lastmod = int(query["n"]), query.get("lastmod", "2001-01-01")
                body = _URLSET + _sitemap_entries(base, 0, count, lastmod) + b"</urlset>"
                return self._send(200, body, "application/xml")
            if path == "/sitemap/big":
                return self._big(float(query.get("mb", "60")), query.get("chunked") == "1", sitemap=base)
            if path == "/sitemap/bomb.xml.gz":
                with _State.lock:
                    if base not in _State.sitemap_bombs:
                        _State.sitemap_bombs[base] = _sitemap_bomb(base)
                if query.get("encoded") == "1":
                    headers = {"Content-Encoding": "gzip"}
                    return self._send(200, _State.sitemap_bombs[base], "application/xml", headers=headers)
                return self._send(200, _State.sitemap_bombs[base], "application/x-gzip")
            if path == "/sitemap/self.xml":
                return self._send(200, _sitemap_index([f"{base}{path}"]), "application/xml")
            if path.startswith("/sitemap/chain/"):
                step = int(path.removeprefix("/sitemap/chain/").removesuffix(".xml"))
                return self._send(200, _sitemap_index([f"{base}/sitemap/chain/{step + 1}.xml"]), "application/xml")
            if path == "/sitemap/wide.xml":
                n = int(query.get("n", "50000"))
                children = [f"{base}/sitemap/wide.xml?n={n}&amp;child={i}" for i in range(n)]
                return self._send(200, _sitemap_index(children), "application/xml")
            if path == "/xml/bomb":
                return self._send(200, _billion_laughs(), "application/rss+xml")
            if path == "/xml/xxe":
                return self._send(200, _xxe(canary_url), "application/rss+xml")
            return self._send(404, b"not here")

        def _robots(self, base: str) -> None:
            mode = args.robots
            if mode == "404":
                return self._send(404, b"no robots here")
            if mode == "503":
                return self._send(503, b"User-agent: *\nAllow: /\n")
            if mode == "slow503":  # answers late, so several requests wait for it
                time.sleep(1)
                return self._send(503, b"busy")
            if mode == "timeout":
                time.sleep(30)
                return self._send(200, b"User-agent: *\nAllow: /\n")
            rules = "User-agent: *\nAllow: /\n"
            if mode.startswith("delay:"):
                rules += f"Crawl-delay: {mode.split(':')[1]}\n"
            return self._send(200, rules.encode(), "text/plain")

        def _page(self, index: int) -> None:
            page = pages[index]
            return self._send(200, (corpus / page["file"]).read_bytes(), "text/html; charset=utf-8")

        def _encoded(self, mode: str, index: int) -> None:
            html = (corpus / pages[index]["file"]).read_text(encoding="utf-8")
            if mode == "header-utf8-body-cp1252":  # the header (and the page) say UTF-8; the bytes are cp1252
                return self._send(200, html.encode("cp1252", "xmlcharrefreplace"), "text/html; charset=utf-8")
            if mode == "meta-latin1":  # only a <meta> names the charset
                html = re.sub(r"(?i)charset=[\"']?utf-8", "charset=iso-8859-1", html)
                return self._send(200, html.encode("iso-8859-1", "xmlcharrefreplace"), "text/html")
            if mode == "utf16-bom":
                return self._send(200, html.encode("utf-16"), "text/html")
            return self._send(404, b"no such encoding")

        def _big(self, megabytes: float, chunked: bool, sitemap: str | None = None) -> None:
            """N MiB of HTML, or of sitemap entries when `sitemap` (the base URL) is given."""
            size = int(megabytes * 1024 * 1024)
            chunk = b"<p>" + b"x" * 1020 + b"</p>"
            if sitemap is not None:
                chunk = _sitemap_entries(sitemap, 0, 10, "2001-01-01")
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if sitemap is None else "application/xml")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            sent = 0
            try:
                if sitemap is not None:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(_URLSET), _URLSET) if chunked else _URLSET)
                    sent += len(_URLSET)
                while sent < size:
                    piece = chunk[: size - sent]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    sent += len(piece)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except OSError:  # the crawler hung up at its size limit, as it should
                pass

        def _send(
            self, status: int, body: bytes, content_type: str = "text/html", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=canary.serve_forever, daemon=True).start()
    sys.stdout.write(f"http://127.0.0.1:{server.server_address[1]} {canary_url}\n")
    sys.stdout.flush()
    server.serve_forever()


def _feed(base: str, links: list[str]) -> bytes:
    today = format_datetime(dt.datetime.now(dt.UTC))
    items = "".join(
        f"<item><title>item {i}</title><link>{_xml(base + link if link.startswith('/') else link)}</link>"
        f"<pubDate>{today}</pubDate></item>"
        for i, link in enumerate(links)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>faults</title>{items}</channel></rss>'.encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _billion_laughs() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>&lol9;</title><link>http://127.0.0.1/never</link></item></channel></rss>"
    ).encode()


def _xxe(canary: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY file SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{canary}/xxe"><!ENTITY % dtd SYSTEM "{canary}/dtd"> %dtd;]>'
        '<rss version="2.0"><channel><title>&file;&remote;</title>'
        f"<item><title>&file;</title><link>{canary}/&file;</link></item></channel></rss>"
    ).encode()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
