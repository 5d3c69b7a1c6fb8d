"""Controller-side analysis of lab runs: raw wrk result files -> one tidy frame -> every output.

Run as ``python -m analysis summarize RUN_DIR`` (see analysis.cli).
"""
