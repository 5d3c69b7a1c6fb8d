"""What the test suites (tests/) and the benchmark scripts (benchmarks/) share: the lab's own parts started
on this machine, as the roles run them.

- ``labkit.paths``: where the repository and the apps are.
- ``labkit.processes``: free ports, and stopping a process group by its PID.
- ``labkit.postgres``: a throwaway Postgres cluster with the benchmark database (pg_stat_statements loaded).
- ``labkit.demo_data``: the lookup type's demo_data in those databases (a small table, loaded by
  labcore/demo_data.py's command line).
- ``labkit.apps``: the apps' manifests and venvs, an app under the server and worker class roles/app_server
  would run, and plain HTTP to it (TCP or unix socket).
- ``labkit.nginx``: roles/app_server's nginx.conf rendered for a local nginx.
- ``labkit.upstream``: the lab's upstream service of the scenario types.

Stdlib only, plus PyYAML and Jinja2 (the controller venv has both, through ansible). Every process started
here is stopped by its PID (or its process group, whose id is that PID), also when the caller fails.
"""
