#!/bin/bash
# ab.sh SRC PORT -> prints rps and cpu ms per search
SRC=$1; PORT=$2; D=$(mktemp -d); cp /work/bench-work/podium/p.db $D/
cd $D; PYTHONPATH=$SRC /work/main/.venv/bin/python -c "import sys; from podium.cli import main; sys.argv[0]='podium'; main()" server --backend-store-uri sqlite:///$D/p.db --artifacts-destination $D/art --port $PORT > server.log 2>&1 &
SP=$!
for i in $(seq 50); do curl -s localhost:$PORT/health >/dev/null && break; sleep 0.2; done
/work/main/.venv/bin/python /work/shared/bench/registry_bench.py http://127.0.0.1:$PORT --scenario search --dataset rbpop3000 --models 3000 --concurrency ${C:-1} --duration ${DUR:-10} --server-pid $SP --json $D/s.json > /dev/null 2>&1
kill $SP; wait $SP 2>/dev/null
python3 -c "
import json;d=json.load(open('$D/s.json'));r=d['runs'][0];res=r['result'];n=res.get('ok') or res.get('requests')
print('$SRC', 'rps', res.get('ok_rps',res.get('rps')), 'cpu ms/req', round(1000*r['resources']['server_cpu_s']/n,3), 'errors', res.get('errors'))"
rm -rf $D
