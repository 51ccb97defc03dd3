#!/usr/bin/env bash
# Scrapyd smoke test: newsmon built as an egg (scrapyd-deploy --build-egg) and deployed to two Scrapyd nodes on
# 127.0.0.1; addversion.json must list every seed as a spider; one source scheduled on both nodes at once must give
# one `ok` run and one crawl refused by the run lock. Every process it starts is stopped by pid.
# Needs the `scrapyd` extra (pip install -e ".[scrapyd]"). NEWSMON_SMOKE_DB_URL picks the store (default: SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
for tool in scrapyd scrapyd-deploy; do
    [ -x "$BIN/$tool" ] || { echo "scrapyd_smoke: $tool missing: pip install -e \".[scrapyd]\"" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/newsmon-scrapyd.XXXXXX)
PIDS=()
cleanup() {
    # each was started in a session of its own: its process group holds what it started (Scrapyd's crawls too)
    for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fail() { echo "scrapyd_smoke: FAILED: $*" >&2; exit 1; }

# 1. A slow local site (30 articles, 0.2 s each) and a seed for it beside the shipped ones
SITE_PORT=$(free_port)
setsid "$BIN/python" - "$SITE_PORT" > "$WORK/site.log" 2>&1 <<'EOF' &
import sys, threading
from http.server import ThreadingHTTPServer
from tests.support.httpsite import Site, _handler
from tests.support.seeds import local_site

site = Site(base_url=f"http://127.0.0.1:{sys.argv[1]}")
local_site(site, 30, delay=0.2)
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _handler(site, False))
server.daemon_threads = True
server.serve_forever()
EOF
PIDS+=($!)
mkdir -p "$WORK/seeds"
cp seeds/*.toml "$WORK/seeds/"
"$BIN/python" -c "
import sys
from tests.support.seeds import write_local_seed
write_local_seed(__import__('pathlib').Path(sys.argv[1]), 'smoke', sys.argv[2])" "$WORK/seeds" "http://127.0.0.1:$SITE_PORT"
SEEDS=$(ls "$WORK"/seeds/*.toml | wc -l)

# 2. The store, upgraded once by `newsmon migrate` (the egg never runs Alembic)
DB=${NEWSMON_SMOKE_DB_URL:-$WORK/newsmon.db}
"$BIN/newsmon" --db "$DB" migrate

# 3. The egg, built from a clean copy of the tracked files
mkdir -p "$WORK/src"
git ls-files | tar -cf - -T - | tar -xf - -C "$WORK/src"
(cd "$WORK/src" && "$BIN/scrapyd-deploy" --build-egg "$WORK/newsmon.egg" > "$WORK/build.log" 2>&1) \
    || { cat "$WORK/build.log" >&2; fail "the egg did not build"; }

# 4. Two Scrapyd nodes, each with its own folders; the crawls they launch inherit this environment
export NEWSMON_SEEDS_DIR=$WORK/seeds NEWSMON_ALLOWED_HOSTS=127.0.0.1:$SITE_PORT NEWSMON_ALERTS=off
PORTS=()
for node in a b; do
    port=$(free_port)
    mkdir -p "$WORK/$node"
    cat > "$WORK/$node/scrapyd.conf" <<EOF
[scrapyd]
bind_address = 127.0.0.1
http_port = $port
eggs_dir = $WORK/$node/eggs
logs_dir = $WORK/$node/logs
dbs_dir = $WORK/$node/dbs
items_dir =
poll_interval = 0.5
max_proc = 1
EOF
    (cd "$WORK/$node" && exec setsid "$BIN/scrapyd" > "$WORK/$node/scrapyd.log" 2>&1) &
    PIDS+=($!)
    PORTS+=("$port")
done
for port in "${PORTS[@]}"; do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/daemonstatus.json" > /dev/null && break; sleep 0.2; done
    curl -sf "http://127.0.0.1:$port/daemonstatus.json" > /dev/null || fail "Scrapyd on port $port did not start"
done

# 5. Deploy to both: every seed is a spider
for port in "${PORTS[@]}"; do
    reply=$(curl -s -F project=newsmon -F version=r1 -F "egg=@$WORK/newsmon.egg" "http://127.0.0.1:$port/addversion.json")
    echo "addversion on $port: $reply"
    "$BIN/python" -c "import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r.get('status') == 'ok' and r.get('spiders') == int(sys.argv[2]) else 1)" \
        "$reply" "$SEEDS" || fail "addversion.json on port $port: $reply (expected ok and $SEEDS spiders)"
done

# 6. The same source on both nodes at once
settings=(-d setting=NEWSMON_DB_URL="$DB" -d setting=DOWNLOAD_DELAY=0.01 -d setting=AUTOTHROTTLE_ENABLED=False)
for port in "${PORTS[@]}"; do
    curl -sf "http://127.0.0.1:$port/schedule.json" -d project=newsmon -d spider=smoke "${settings[@]}" -d since=2000-01-01
    echo
done
for port in "${PORTS[@]}"; do
    for _ in $(seq 600); do
        jobs=$(curl -sf "http://127.0.0.1:$port/listjobs.json?project=newsmon")
        "$BIN/python" -c "import json, sys; j = json.loads(sys.argv[1]); sys.exit(0 if len(j['finished']) == 1 and not j['pending'] and not j['running'] else 1)" "$jobs" && break
        sleep 0.2
    done
done

# 7. One `ok` run, one crawl refused (its node logs who held the source), nothing else
runs=$("$BIN/newsmon" --db "$DB" runs --source smoke --json)
refused=$(cat "$WORK"/a/scrapyd.log "$WORK"/b/scrapyd.log | grep -c "is being crawled already" || true)
"$BIN/python" - "$runs" "$refused" <<'EOF' || fail "expected one ok run and one refused crawl: runs $runs, refused $refused"
import json, sys
runs = json.loads(sys.argv[1])
print(f"crawl_runs: {[(r['status'], r['articles_new'], r['host'], r['job_id']) for r in runs]}; refused: {sys.argv[2]}")
ok = len(runs) == 1 and runs[0]["status"] == "ok" and runs[0]["articles_new"] == 30 and runs[0]["job_id"]
sys.exit(0 if ok and sys.argv[2] == "1" else 1)
EOF
echo "scrapyd_smoke: ok (2 nodes, $SEEDS spiders each, one ok run, one refused)"
