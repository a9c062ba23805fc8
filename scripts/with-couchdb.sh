#!/usr/bin/env bash
# with-couchdb.sh CMD [ARGS...]
#
# Runs CMD against a throw-away Apache CouchDB 3.4: unpacks the prebuilt release from
# ../shared/couchdb (or $DOM_COUCHDB_DIST) into a temporary folder, starts it on a free loopback
# port with a random admin password, exports its URL as DOM_TEST_COUCH_URL (the test suite's
# backend switch) and DOM_BENCH_COUCH_URL, runs CMD, and stops CouchDB and removes the folder
# afterwards, also when CMD fails or the script is interrupted. Exits with CMD's status.
#
#   scripts/with-couchdb.sh npm test          # the whole suite on Apache CouchDB
#   npm run test:couchdb                      # the same
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dist=${DOM_COUCHDB_DIST:-$here/../../shared/couchdb}
if [[ ! -x "$dist/start-couchdb.sh" && ! -f "$dist/start-couchdb.sh" ]]; then
  echo "with-couchdb: no CouchDB release at $dist (set DOM_COUCHDB_DIST to the folder holding start-couchdb.sh)" >&2
  exit 3
fi
[[ $# -gt 0 ]] || { echo "usage: with-couchdb.sh CMD [ARGS...]" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dom-couchdb-XXXXXX")
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
password=$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")
cat > "$work/extra.ini" <<'INI'
[couchdb]
; the suite and the benches create thousands of databases
max_dbs_open = 5000
INI

stop() {
  bash "$dist/stop-couchdb.sh" "$work/couchdb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

COUCH_PORT=$port COUCH_USER=admin COUCH_PASSWORD=$password COUCH_Q=${COUCH_Q:-1} \
  COUCH_DATA_DIR="$work/data" COUCH_LOG_LEVEL=${COUCH_LOG_LEVEL:-warning} COUCH_EXTRA_INI="$work/extra.ini" \
  bash "$dist/start-couchdb.sh" "$work/couchdb" >/dev/null
url="http://admin:$password@127.0.0.1:$port"
echo "with-couchdb: Apache CouchDB $(node -e "fetch('http://127.0.0.1:$port/').then(r=>r.json()).then(b=>console.log(b.version))") at http://127.0.0.1:$port (data in $work)" >&2

status=0
DOM_TEST_COUCH_URL=$url DOM_BENCH_COUCH_URL=$url "$@" || status=$?
exit $status
