"""TFB-grade verification of the test types (docs/test-types.md §3 "Verification"), stdlib only.

Pure grading (checks, grading, fortunes, db_checks: responses and snapshots in, checks out) is kept apart
from the I/O (fetch, http_checks, load) and from the files of a run (report, sequence, timeline). The database
is read by whoever can reach it, with the statements of sql.py: in the lab, recorder.py on the db host.
Command line: ``python -m analysis.verify`` (see cli.py).
"""
