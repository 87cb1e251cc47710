#!/usr/bin/env bash
# Regenerates the project's own PyTorch reference cases (test/fixtures/oracle/x-*.json) and the optimizer
# trajectories (test/fixtures/optim.json). Needs ../shared/oracle and python3-torch (apt-get install -y python3-torch).
# The tests only read the JSON; they never call Python.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3 # Debian's python3-torch lives in the system interpreter, not in a pyenv shim
ORACLE=../shared/oracle
$PY "$ORACLE/make_cases.py" test/fixtures/oracle 20261127 \
  x-t1:3,1,2,4,3:tanh:last \
  x-b1:1,6,3,4,2:tanh:all:h0:jac \
  x-h1:2,5,2,1,3:relu:last:h0 \
  x-c1:2,4,3,3,1:tanh:all \
  x-relu-all-jac:3,5,2,4,3:relu:all:h0:jac \
  x-trunc-all-h0-k3:2,7,3,4,3:tanh:all:h0:trunc3 \
  x-trunc-last-k1:3,6,2,5,2:tanh:last:trunc1 \
  x-trunc-relu-all-k4:2,9,3,5,4:relu:all:h0:trunc4 \
  x-trunc-ge-T:2,4,3,3,2:tanh:all:trunc9 \
  x-scalar-long:1,8,1,1,2:tanh:last:jac
$PY scripts/make-optim-cases.py > test/fixtures/optim.json
# Hand-made edge cases, answered by the oracle: relu exactly at 0 (unit 0 has a_t = 0 at every step) and
# saturated tanh (|a_t| > 20, so 1 − h² underflows to 0 and nothing may turn into NaN).
case_of() { $PY -c "import json,sys; r=json.loads(sys.argv[1]); print(json.dumps({'request': r, 'expected': json.loads(sys.stdin.read())}))" "$1"; }
REQ='{"config":{"inputSize":1,"hiddenSize":2,"outputSize":2,"activation":"relu","readout":"all"},"weights":{"U.weight":[[0.0],[0.7]],"W.weight":[[0.0,0.0],[0.3,0.5]],"W.bias":[0.0,0.1],"V.weight":[[0.4,-0.6],[0.2,0.9]],"V.bias":[0.05,-0.05]},"x":[[[1.0],[-2.0],[0.5]]],"targets":[[0,1,1]],"jacobian":["U.weight","W.weight","W.bias"]}'
echo "$REQ" | $PY "$ORACLE/torch_rnn.py" case | case_of "$REQ" > test/fixtures/oracle/x-relu-at-zero.json
REQ='{"config":{"inputSize":2,"hiddenSize":3,"outputSize":2},"weights":{"U.weight":[[30.0,-25.0],[40.0,10.0],[0.5,0.2]],"W.weight":[[21.0,0.0,0.0],[0.0,-35.0,0.0],[0.1,0.2,0.3]],"W.bias":[0.0,1.0,-0.2],"V.weight":[[1.0,-1.0,0.5],[0.3,0.2,-0.4]],"V.bias":[0.0,0.1]},"x":[[[1.0,-1.0],[2.0,0.5],[-1.5,1.0],[0.3,0.3]]],"h0":[[0.9,-0.9,0.1]],"targets":[1],"jacobian":["U.weight","W.weight","W.bias"]}'
echo "$REQ" | $PY "$ORACLE/torch_rnn.py" case | case_of "$REQ" > test/fixtures/oracle/x-saturated-tanh.json
