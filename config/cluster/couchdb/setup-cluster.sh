#!/bin/sh
# Joins three CouchDB nodes into one cluster (CouchDB 3 "Cluster Set Up", the manual way), once:
# waits for every node, adds nodes 2 and 3 to node 1's membership (PUT /_node/_local/_nodes/...),
# then finishes the cluster (POST /_cluster_setup {"action":"finish_cluster"}: the system
# databases). Safe to run again: a node already joined (409) and a finished cluster are fine.
# Credentials go to curl with -u, never inside a URL, so any password character works.
set -eu
: "${COUCHDB_USER:?}" "${COUCHDB_PASSWORD:?}"
FIRST="${COUCHDB_FIRST:-couchdb1.ocni}"
OTHERS="${COUCHDB_OTHERS:-couchdb2.ocni couchdb3.ocni}"
PORT="${COUCHDB_PORT:-5984}"

couch() {
  # couch METHOD HOST PATH [BODY] -> prints the HTTP status, the body goes to /tmp/couch-answer
  curl -sS -o /tmp/couch-answer -w '%{http_code}' -u "$COUCHDB_USER:$COUCHDB_PASSWORD" \
    -H 'Content-Type: application/json' -X "$1" "http://$2:$PORT$3" ${4:+-d "$4"}
}

for host in $FIRST $OTHERS; do
  tries=0
  until [ "$(couch GET "$host" /_up 2>/dev/null || true)" = 200 ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ]; then echo "setup: $host did not come up" >&2; exit 1; fi
    sleep 1
  done
done

for host in $OTHERS; do
  status=$(couch PUT "$FIRST" "/_node/_local/_nodes/couchdb@$host" '{}')
  case "$status" in
    201|202|409) echo "setup: couchdb@$host is a member ($status)" ;;
    *) echo "setup: adding couchdb@$host failed with $status: $(cat /tmp/couch-answer)" >&2; exit 1 ;;
  esac
done

status=$(couch POST "$FIRST" /_cluster_setup '{"action":"finish_cluster"}')
case "$status" in
  201|200) echo "setup: cluster finished" ;;
  400) grep -q 'already' /tmp/couch-answer && echo "setup: cluster was finished before" || { echo "setup: finish_cluster: $(cat /tmp/couch-answer)" >&2; exit 1; } ;;
  *) echo "setup: finish_cluster failed with $status: $(cat /tmp/couch-answer)" >&2; exit 1 ;;
esac

couch GET "$FIRST" /_membership >/dev/null
echo "setup: membership $(cat /tmp/couch-answer)"
