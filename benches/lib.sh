# Shared by the scripts in benches/: source it.

# Waits (up to 5 s) until the server on 127.0.0.1:$1 answers /healthz.
wait_for_server() {
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no server on port $1" >&2
  return 1
}
