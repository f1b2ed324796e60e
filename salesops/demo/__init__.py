"""Deterministic demo and scale data: `salesops seed --scale demo|small|100k|1m`."""
