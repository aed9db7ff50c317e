"""Downloads against a real HTTP server on 127.0.0.1: whole, resumed after a drop, offline, cached."""

import hashlib
import http.server
import threading

import pytest

from corpus.download import Dataset, download, fetch
from base.errors import InputError
from corpus.sources import resolve_sources

PAYLOAD = ("Once upon a time there was a cat.\n<|endoftext|>\nThe dog ran home.\n<|endoftext|>\n"
           "A bird sang.\n" * 1) .encode() * 2000


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD with Range support; the first ``drops`` responses break off half-way."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append(self.headers.get("Range"))
        if server.status != 200:
            self.send_error(server.status)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and server.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.drops > 0:
            server.drops -= 1
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.drops, httpd.ranges, httpd.status, httpd.requests = 0, True, 200, []
    # polled every 20 ms (not 0.5 s) for shutdown(), so that each test ends at once
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server, name="stories.txt"):
    return f"http://127.0.0.1:{server.server_address[1]}/{name}"


def test_whole_download_records_sha256(server, tmp_path):
    target = tmp_path / "stories.txt"
    digest = download(_url(server), target)
    assert target.read_bytes() == PAYLOAD
    assert digest == hashlib.sha256(PAYLOAD).hexdigest()
    assert (tmp_path / "stories.txt.sha256").read_text().split()[0] == digest
    assert not (tmp_path / "stories.txt.part").exists()


def test_dropped_connection_resumes_with_range(server, tmp_path):
    server.drops = 2
    target = tmp_path / "stories.txt"
    download(_url(server), target, retries=3)
    assert target.read_bytes() == PAYLOAD
    assert server.requests[0] is None and all(r and r.startswith("bytes=") for r in server.requests[1:])
    assert len(server.requests) == 3


def test_resume_across_runs_keeps_the_partial_file(server, tmp_path):
    server.drops = 5
    target = tmp_path / "stories.txt"
    with pytest.raises(InputError, match="rerun to resume"):
        download(_url(server), target, retries=1)
    part = tmp_path / "stories.txt.part"
    assert 0 < part.stat().st_size < len(PAYLOAD) and not target.exists()
    server.drops = 0
    download(_url(server), target, retries=0)
    assert target.read_bytes() == PAYLOAD
    assert server.requests[-1].startswith("bytes=")


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    server.drops, server.ranges = 1, False
    target = tmp_path / "stories.txt"
    download(_url(server), target, retries=2)
    assert target.read_bytes() == PAYLOAD


def test_offline_is_one_clear_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot download"):
        download("http://127.0.0.1:9/none.txt", tmp_path / "none.txt", timeout=2)


def test_http_error_is_input_error(server, tmp_path):
    server.status = 404
    with pytest.raises(InputError, match="HTTP 404"):
        download(_url(server), tmp_path / "x.txt")


def test_fetch_reuses_a_verified_cache_and_redownloads_a_changed_file(server, tmp_path):
    dataset = Dataset("stories", _url(server), "stories.txt", "text", "test stories")
    path = fetch(dataset, tmp_path)
    fetch(dataset, tmp_path)
    assert len(server.requests) == 1
    path.write_bytes(b"tampered")
    fetch(dataset, tmp_path)
    assert len(server.requests) == 2 and path.read_bytes() == PAYLOAD


def test_named_dataset_through_a_mirror(server, tmp_path, monkeypatch):
    monkeypatch.setenv("W2V_GPT_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
    sources = resolve_sources("tinystories", cache_dir=tmp_path)
    documents = list(sources[0])
    assert (tmp_path / "TinyStories-valid.txt").read_bytes() == PAYLOAD
    assert documents[:3] == ["Once upon a time there was a cat.", "The dog ran home.",
                             "A bird sang.\nOnce upon a time there was a cat."]
