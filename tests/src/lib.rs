//! Black-box tests live in `tests/tests/`: each file starts a real server on `127.0.0.1:0`.
