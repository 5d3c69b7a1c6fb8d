"""Tests of analysis.verify: pure grading, and real servers that each break one rule."""
