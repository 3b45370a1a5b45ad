set -ex
cd "$(dirname "$0")/.."
B=.venv/bin/python
$B bench/bench_parameters.py
$B bench/bench_expressions.py
$B bench/bench_compile.py --write
$B bench/bench_rpc.py --output bench/results/rpc.md
$B bench/bench_storage.py --runs 5
$B bench/bench_catalog.py
$B bench/bench_locate.py
$B bench/bench_sim_fits.py --output bench/results/sim.md
$B bench/bench_device_server.py
$B bench/bench_run.py --runs 5
$B bench/bench_analysis.py --runs 7
$B bench/bench_sql_storage.py --runs 5
$B bench/bench_panel.py --runs 5
$B bench/bench_fair_server.py
$B bench/bench_data_units.py
$B bench/bench_soak.py 10000
$B bench/bench_names.py --runs 7
echo "all benchmarks done"
